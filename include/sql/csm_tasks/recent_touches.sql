-- Touches sent to accounts before the plan date, every team: a task's "last touches".
-- A sent touch appears in every later plan, hence distinct.
select distinct touch_id, account_id, team, channel, template_id, scheduled_at
from communication_calendar
where status = 'sent'
  and scheduled_at >= :since
  and scheduled_at < :plan_start
