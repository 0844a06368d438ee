-- Touches sent in [since, until), with what metrics are grouped by: template, team and the
-- account's tier segment on the day it was sent. A touch handed over ahead of its time
-- (lookahead, a replayed window) goes out at its scheduled time: the provider holds it.
{% from "macros.sql" import segment_current %}
select d.touch_id, d.provider,
       greatest(d.updated_at, c.scheduled_at) as sent_at, c.contact_id, c.account_id,
       c.template_id, c.team, c.channel,
       coalesce(s.segment_key, 'unsegmented') as segment
from deliveries d
join communication_calendar c on c.plan_date = d.plan_date and c.touch_id = d.touch_id
left join segment_membership s
  on s.account_id = c.account_id and s.segment_type = 'tier'
 and {{ segment_current('s', 'cast(greatest(d.updated_at, c.scheduled_at) as date)') }}
where d.status = 'sent'
  and greatest(d.updated_at, c.scheduled_at) >= :since
  and greatest(d.updated_at, c.scheduled_at) < :until
