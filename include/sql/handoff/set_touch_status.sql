-- Close one scheduled touch before it is handed over: cancelled (consent now forbids it),
-- dropped (too stale to send) or failed (cannot be rendered). A touch already handed over
-- keeps its status.
update communication_calendar
set status = :status, reason = :reason, updated_at = :now
where plan_date = :plan_date and touch_id = :touch_id and status = 'scheduled'
