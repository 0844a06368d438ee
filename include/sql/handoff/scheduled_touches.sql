-- Scheduled touches of one plan not yet handed to a provider.
select touch_id, plan_date, contact_id, account_id, csm_id, team, message_type, category,
       channel, template_id, scheduled_at, payload
from communication_calendar
where plan_date = :plan_date
  and status = 'scheduled'
  and batch_id is null
order by scheduled_at, touch_id
