-- The hourly run's outcome replaces the planner's decision for each touch of
-- touch_updates, so every candidate keeps exactly one (final) decision row per plan date.
update calendar_decisions
set decision = u.decision, rule = u.rule, detail = u.detail, decided_at = u.decided_at
from touch_updates as u
where calendar_decisions.plan_date = cast(u.plan_date as date)
  and calendar_decisions.touch_id = u.touch_id
