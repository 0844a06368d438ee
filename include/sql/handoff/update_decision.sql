-- The hourly run's outcome replaces the planner's decision for the touch, so every
-- candidate keeps exactly one (final) decision row per plan date.
update calendar_decisions
set decision = :decision, rule = :rule, detail = :detail, decided_at = :now
where plan_date = :plan_date and touch_id = :touch_id
