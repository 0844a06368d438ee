-- Tickets open at the end of the plan date, or closed within the longest window; a ticket
-- closed after the plan date reads as open then (a backfill sees that day's state). Of one
-- shard's accounts when in_shard.
{% from "macros.sql" import shard_filter with context %}
select ticket_id, account_id, priority, status,
       case when closed_at < :day_end then closed_at end as closed_at,
       case when closed_at < :day_end then csat end as csat
from stg_support_tickets
where opened_at < :day_end and (closed_at is null or closed_at >= :since)
{{- shard_filter() }}
