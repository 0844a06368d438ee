-- The scheduled human touches (calls and meetings) of one plan: they become CSM tasks.
select touch_id, plan_date, contact_id, account_id, csm_id, rule_id, channel, template_id,
       scheduled_at, priority
from communication_calendar
where plan_date = :plan_date
  and status = 'scheduled'
  and channel in ('call', 'meeting')
