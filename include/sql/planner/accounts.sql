-- Accounts with country (holidays), timezone, ARR (priority ties), status, CSM and tier;
-- of one shard when in_shard.
select a.account_id, a.country, a.timezone, a.arr, a.status, a.csm_id,
{%- if has_segments %}
       s.segment_key as tier
from stg_accounts a
{%- if in_shard %}
join plan_accounts shard_of
  on shard_of.plan_date = :as_of and shard_of.account_id = a.account_id
 and shard_of.shard = :shard
{%- endif %}
left join segment_membership s
  on s.account_id = a.account_id and s.segment_type = 'tier'
 and s.valid_from <= :as_of and (s.valid_to is null or s.valid_to > :as_of)
{%- else %}
       cast(null as text) as tier
from stg_accounts a
{%- if in_shard %}
join plan_accounts shard_of
  on shard_of.plan_date = :as_of and shard_of.account_id = a.account_id
 and shard_of.shard = :shard
{%- endif %}
{%- endif %}
