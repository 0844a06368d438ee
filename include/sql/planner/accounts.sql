-- Accounts with country (holidays), timezone, ARR (priority ties), status, CSM and tier;
-- of one shard when in_shard.
{% from "macros.sql" import shard_filter with context %}
{% from "macros.sql" import segment_current %}
select a.account_id, a.country, a.timezone, a.arr, a.status, a.csm_id,
       s.segment_key as tier
from stg_accounts a
left join segment_membership s
  on s.account_id = a.account_id and s.segment_type = 'tier'
 and {{ segment_current('s') }}
{{- shard_filter('a.account_id', 'where') }}
