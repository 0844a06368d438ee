-- Usage over the 30 days up to the plan date, all features together (feature is null).
select account_id,
       max(active_users) as active_users,
       max(seats_used) as seats_used,
       sum(coalesce(logins, 0)) as logins
from stg_usage_daily
where usage_date > :since
  and usage_date <= :as_of
  and feature is null
group by account_id
