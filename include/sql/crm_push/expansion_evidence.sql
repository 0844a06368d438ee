-- Accounts with the expansion_ready signal on the plan date, with the evidence a deal
-- carries: the most seats used in the last 7 days against the seats bought, and average
-- active users over the last 30 days against the 30 before (csm_tasks/usage_trend.sql).
{% from "macros.sql" import segment_current %}
with usage as (
{% include "csm_tasks/usage_trend.sql" %}
)
select a.account_id, a.name as account_name, a.csm_id, a.arr, a.seats_purchased,
       u.seats_used_7d, u.active_users_30d, u.active_users_prior_30d
from segment_membership s
join stg_accounts a on a.account_id = s.account_id
left join usage u on u.account_id = s.account_id
where s.segment_type = 'signal'
  and s.segment_key = 'expansion_ready'
  and {{ segment_current('s') }}
order by a.account_id
