-- The placed meeting times of the plan's human touches go into the calendar, so analysts and
-- the hourly run see when each call really happens; a no-human-tier touch is cancelled in the
-- calendar and its decision becomes suppressed, saying why.
update communication_calendar
set scheduled_at = m.scheduled_at,
    local_send_at = m.local_send_at,
    status = m.status,
    reason = m.reason
from csm_meeting_times as m
where communication_calendar.plan_date = :plan_date
  and m.plan_date = :plan_date
  and communication_calendar.touch_id = m.touch_id
  and communication_calendar.status = 'scheduled';
update calendar_decisions
set decision = 'suppressed', rule = :rule, detail = m.reason
from csm_meeting_times as m
where calendar_decisions.plan_date = :plan_date
  and m.plan_date = :plan_date
  and calendar_decisions.touch_id = m.touch_id
  and m.status = 'cancelled'
