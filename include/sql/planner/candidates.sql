-- The touch candidates of one plan date; of one shard's accounts when in_shard.
select c.*
from touch_candidates c
{%- if in_shard %}
join plan_accounts shard_of
  on shard_of.plan_date = :as_of and shard_of.account_id = c.account_id
 and shard_of.shard = :shard
{%- endif %}
where c.plan_date = :as_of
