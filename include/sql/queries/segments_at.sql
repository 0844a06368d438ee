-- The segments of every account on :as_of, from the SCD2 segment_membership table.
{% from "macros.sql" import segment_current %}
select account_id, segment_type, segment_key
from segment_membership
where {{ segment_current() }}
order by account_id, segment_type, segment_key
