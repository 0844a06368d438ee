-- Tickets open at the end of the plan date (a backfill sees the tickets open that day).
select ticket_id, account_id, contact_id, priority, opened_at
from stg_support_tickets
where opened_at < :day_end
  and (closed_at is null or closed_at >= :day_end)
  and coalesce(status, 'open') <> 'closed'
