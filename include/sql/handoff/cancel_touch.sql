-- Cancel one scheduled touch that consent now forbids; a touch already handed over stays.
update communication_calendar
set status = 'cancelled', reason = :reason, updated_at = :now
where plan_date = :plan_date and touch_id = :touch_id and status = 'scheduled'
