-- Tickets open at the end of the plan date, or closed within the longest window; a ticket
-- closed after the plan date reads as open then (a backfill sees that day's state).
select t.ticket_id, t.account_id, t.priority, t.status,
       case when t.closed_at < :day_end then t.closed_at end as closed_at,
       case when t.closed_at < :day_end then t.csat end as csat
from stg_support_tickets t
{%- if in_shard %}
join plan_accounts shard_of
  on shard_of.plan_date = :as_of and shard_of.account_id = t.account_id
 and shard_of.shard = :shard
{%- endif %}
where t.opened_at < :day_end and (t.closed_at is null or t.closed_at >= :since)
