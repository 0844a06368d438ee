-- Touches already planned (the latest earlier plan) or sent (any plan since :since):
-- cooldowns, minimum cadence and CSM task context count them.
with latest_plan as (
    select max(plan_date) as plan_date
    from communication_calendar
    where plan_date < :as_of
)
select distinct touch_id, contact_id, account_id, rule_id, intent, channel, scheduled_at,
       status
from communication_calendar
where (plan_date = (select plan_date from latest_plan) and status in ('scheduled', 'sent'))
   or (status = 'sent' and scheduled_at >= :since and plan_date < :as_of)
