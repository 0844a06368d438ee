-- Usage of accounts that started after :since, per day and feature (feature null: the
-- account totals), up to the plan date: the onboarding milestones are read from it.
select u.account_id, u.usage_date, u.feature, u.logins, u.events, u.active_users
from stg_usage_daily u
join stg_accounts a on a.account_id = u.account_id
where a.contract_start > :since
  and u.usage_date <= :as_of
