-- Accounts with country (holidays), timezone, ARR (priority ties), status, CSM and tier;
-- of one shard when in_shard.
{% from "macros.sql" import segment_current %}
select a.account_id, a.country, a.timezone, a.arr, a.status, a.csm_id,
{%- if has_segments %}
       s.segment_key as tier
{%- else %}
       cast(null as text) as tier
{%- endif %}
from stg_accounts a
{%- if has_segments %}
left join segment_membership s
  on s.account_id = a.account_id and s.segment_type = 'tier'
 and {{ segment_current('s') }}
{%- endif %}
{%- if in_shard %}
where a.account_id in (select account_id from plan_accounts
                       where plan_date = :as_of and shard = :shard)
{%- endif %}
