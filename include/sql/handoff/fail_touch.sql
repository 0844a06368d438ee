update communication_calendar
set status = 'failed', reason = :reason, updated_at = :now
where plan_date = :plan_date and touch_id = :touch_id and status = 'scheduled'
