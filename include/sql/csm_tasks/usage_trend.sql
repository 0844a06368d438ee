-- Average active users over the 30 days up to the plan date against the 30 days before, and
-- the most seats used in the last 30 days (all features together: feature is null).
select account_id,
       avg(case when usage_date > cast(:as_of as date) - 30 then active_users end)
           as active_users_30d,
       avg(case when usage_date <= cast(:as_of as date) - 30 then active_users end)
           as active_users_prior_30d,
       max(case when usage_date > cast(:as_of as date) - 30 then seats_used end)
           as seats_used_30d
from stg_usage_daily
where usage_date > cast(:as_of as date) - 60
  and usage_date <= cast(:as_of as date)
  and feature is null
group by account_id
