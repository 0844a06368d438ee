-- Send-time steering's changes (steered_touches, one row per calendar row it changes) made in
-- place: each row's experiment arm and send time, the send-time text added to its calendar
-- reason and, for a scheduled or deferred touch, to its decision detail (once: a rerun finds
-- it there and adds nothing).
update communication_calendar
set experiment_arm = s.experiment_arm,
    scheduled_at = s.scheduled_at,
    local_send_at = s.local_send_at,
    reason = case when s.said is null
                       or strpos(coalesce(communication_calendar.reason, ''), '; ' || s.said) > 0
                  then communication_calendar.reason
                  else coalesce(communication_calendar.reason, '') || '; ' || s.said end
from steered_touches as s
where communication_calendar.plan_date = :as_of
  and communication_calendar.touch_id = s.touch_id;
update calendar_decisions
set detail = coalesce(calendar_decisions.detail, '') || '; ' || s.said
from steered_touches as s
where calendar_decisions.plan_date = :as_of
  and calendar_decisions.touch_id = s.touch_id
  and s.said is not null
  and strpos(coalesce(calendar_decisions.detail, ''), '; ' || s.said) = 0
  and calendar_decisions.decision in ('scheduled', 'deferred')
