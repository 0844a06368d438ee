-- Per account over the 60 days up to the plan date (all features together: feature is
-- null): average active users over the last 30 days against the 30 before, and the most
-- seats used in the last 7 and 30 days. Also the usage evidence of crm_push's
-- expansion_evidence.sql, which includes this file.
select account_id,
       avg(case when usage_date > cast(:as_of as date) - 30 then active_users end)
           as active_users_30d,
       avg(case when usage_date <= cast(:as_of as date) - 30 then active_users end)
           as active_users_prior_30d,
       max(case when usage_date > cast(:as_of as date) - 7 then seats_used end)
           as seats_used_7d,
       max(case when usage_date > cast(:as_of as date) - 30 then seats_used end)
           as seats_used_30d
from stg_usage_daily
where usage_date > cast(:as_of as date) - 60
  and usage_date <= cast(:as_of as date)
  and feature is null
group by account_id
