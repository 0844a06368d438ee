-- Segment keys of each account current at the plan date (at_risk blocks promotional).
{%- if has_segments %}
select m.account_id, m.segment_key
from segment_membership m
{%- if in_shard %}
join plan_accounts shard_of
  on shard_of.plan_date = :as_of and shard_of.account_id = m.account_id
 and shard_of.shard = :shard
{%- endif %}
where m.valid_from <= :as_of and (m.valid_to is null or m.valid_to > :as_of)
{%- else %}
select cast(null as text) as account_id, cast(null as text) as segment_key
where 1 = 0
{%- endif %}
