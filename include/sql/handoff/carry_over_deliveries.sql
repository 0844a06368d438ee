-- A re-planned calendar shows what earlier plans already handed over.
update communication_calendar
set status = case d.status when 'recorded' then 'scheduled' else d.status end,
    batch_id = d.batch_id, provider_message_id = d.provider_message_id, reason = d.reason,
    updated_at = :now
from deliveries d
where communication_calendar.plan_date = :plan_date
  and communication_calendar.touch_id = d.touch_id
  and communication_calendar.batch_id is null
  and communication_calendar.status = 'scheduled'
