-- Touches that count toward caps: every touch sent up to the plan date (calendar rows the
-- hourly handoff marked sent, and accepted deliveries) within the longest rule window; of
-- one shard's accounts when in_shard.
select h.touch_id, h.contact_id, h.account_id, h.channel, h.message_type, h.category,
       h.template_id, h.scheduled_at, h.status
from communication_calendar h
{%- if in_shard %}
join plan_accounts shard_of
  on shard_of.plan_date = :as_of and shard_of.account_id = h.account_id
 and shard_of.shard = :shard
{%- endif %}
where h.status = 'sent' and h.plan_date <= :as_of and h.scheduled_at >= :since
{%- if has_deliveries %}
union
select c.touch_id, c.contact_id, c.account_id, c.channel, c.message_type, c.category,
       c.template_id, c.scheduled_at, 'sent' as status
from deliveries d
join communication_calendar c on c.plan_date = d.plan_date and c.touch_id = d.touch_id
{%- if in_shard %}
join plan_accounts shard_of
  on shard_of.plan_date = :as_of and shard_of.account_id = c.account_id
 and shard_of.shard = :shard
{%- endif %}
where d.status = 'sent' and c.scheduled_at >= :since
{%- endif %}
