-- Scheduled touches of one plan not yet handed to a provider. With `due` (dispatch): only
-- those due by the end of the window, and never a touch already delivered under an
-- earlier plan.
select touch_id, plan_date, contact_id, account_id, csm_id, team, message_type, category,
       channel, template_id, scheduled_at, payload
from communication_calendar
where plan_date = :plan_date
  and status = 'scheduled'
  and batch_id is null
{%- if due | default(false) %}
  and scheduled_at < :window_end
  and touch_id not in (select touch_id from deliveries)
{%- endif %}
order by scheduled_at, touch_id
