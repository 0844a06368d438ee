-- Copy a batch's delivery outcomes onto its calendar rows.
update communication_calendar
set status = d.status, provider_message_id = d.provider_message_id, reason = d.reason,
    updated_at = :now
from deliveries d
where d.batch_id = :batch_id
  and communication_calendar.plan_date = d.plan_date
  and communication_calendar.touch_id = d.touch_id
  and communication_calendar.batch_id = d.batch_id
