-- Segments current at the plan date; valid_from anchors signal-triggered touches.
{% from "macros.sql" import segment_current %}
select account_id, segment_type, segment_key, valid_from
from segment_membership
where {{ segment_current() }}
