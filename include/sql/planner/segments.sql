-- Segment keys of each account current at the plan date (at_risk blocks promotional); of
-- one shard's accounts when in_shard.
{% from "macros.sql" import segment_current %}
{%- if has_segments %}
select account_id, segment_key
from segment_membership
where {{ segment_current() }}
{%- if in_shard %}
  and account_id in (select account_id from plan_accounts
                     where plan_date = :as_of and shard = :shard)
{%- endif %}
{%- else %}
select cast(null as text) as account_id, cast(null as text) as segment_key
where 1 = 0
{%- endif %}
