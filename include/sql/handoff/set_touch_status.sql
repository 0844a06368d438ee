-- Close scheduled touches before they are handed over (rows of touch_updates): cancelled
-- (consent now forbids it), dropped (too stale to send) or failed (cannot be rendered). A
-- touch already handed over keeps its status.
update communication_calendar
set status = u.status, reason = u.reason, updated_at = u.decided_at
from touch_updates as u
where communication_calendar.plan_date = cast(u.plan_date as date)
  and communication_calendar.touch_id = u.touch_id
  and communication_calendar.status = 'scheduled'
