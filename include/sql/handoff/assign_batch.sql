-- The calendar rows of a recorded batch point at it (set-based: one statement per batch).
update communication_calendar
set batch_id = d.batch_id, updated_at = :now
from deliveries d
where d.batch_id = :batch_id
  and communication_calendar.plan_date = d.plan_date
  and communication_calendar.touch_id = d.touch_id
  and communication_calendar.status = 'scheduled'
