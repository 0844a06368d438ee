-- Touches of one plan that are due by the end of the window and not yet handed over; a
-- touch already delivered under an earlier plan is never picked again.
select touch_id, plan_date, contact_id, account_id, csm_id, team, message_type, category,
       channel, template_id, scheduled_at, payload
from communication_calendar
where plan_date = :plan_date
  and status = 'scheduled'
  and batch_id is null
  and scheduled_at < :window_end
  and touch_id not in (select touch_id from deliveries)
order by scheduled_at, touch_id
