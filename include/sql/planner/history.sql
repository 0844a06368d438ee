-- Touches that count toward caps: every touch sent up to the plan date (calendar rows the
-- hourly handoff marked sent, and accepted deliveries) within the longest rule window; of
-- one shard's accounts when in_shard.
{% from "macros.sql" import shard_filter with context %}
select touch_id, contact_id, account_id, channel, message_type, category, template_id,
       scheduled_at, status
from communication_calendar
where status = 'sent' and plan_date <= :as_of and scheduled_at >= :since
{{- shard_filter() }}
union
select c.touch_id, c.contact_id, c.account_id, c.channel, c.message_type, c.category,
       c.template_id, c.scheduled_at, 'sent' as status
from deliveries d
join communication_calendar c on c.plan_date = d.plan_date and c.touch_id = d.touch_id
where d.status = 'sent' and c.scheduled_at >= :since
{{- shard_filter('c.account_id') }}
