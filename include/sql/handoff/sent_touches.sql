-- Touches handed over and accepted in [since, until), with what metrics are grouped by:
-- template, team and the account's tier segment on the day it was sent.
select d.touch_id, d.provider, d.updated_at as sent_at, c.contact_id, c.account_id,
       c.template_id, c.team, c.channel,
{%- if has_segments %}
       coalesce(s.segment_key, 'unsegmented') as segment
{%- else %}
       'unsegmented' as segment
{%- endif %}
from deliveries d
join communication_calendar c on c.plan_date = d.plan_date and c.touch_id = d.touch_id
{%- if has_segments %}
left join segment_membership s
  on s.account_id = c.account_id and s.segment_type = 'tier'
 and s.valid_from <= cast(d.updated_at as date)
 and (s.valid_to is null or s.valid_to > cast(d.updated_at as date))
{%- endif %}
where d.status = 'sent' and d.updated_at >= :since and d.updated_at < :until
