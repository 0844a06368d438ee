update communication_calendar
set batch_id = :batch_id, updated_at = :now
where plan_date = :plan_date and touch_id = :touch_id and status = 'scheduled'
