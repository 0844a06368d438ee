-- CSM levelling's changes (levelled_touches, one row per changed touch) made in place: a
-- moved touch takes its new time and reason, a dropped or escalated one leaves the calendar,
-- and every changed touch's decision is replaced.
update communication_calendar
set scheduled_at = l.scheduled_at,
    local_send_at = l.local_send_at,
    reason = l.reason
from levelled_touches as l
where communication_calendar.plan_date = :as_of
  and communication_calendar.touch_id = l.touch_id
  and l.scheduled_at is not null;
delete from communication_calendar
where plan_date = :as_of
  and touch_id in (select l.touch_id from levelled_touches as l
                   where l.decision in ('dropped', 'escalated'));
update calendar_decisions
set decision = l.decision,
    rule = l.rule,
    detail = l.detail
from levelled_touches as l
where calendar_decisions.plan_date = :as_of
  and calendar_decisions.touch_id = l.touch_id
