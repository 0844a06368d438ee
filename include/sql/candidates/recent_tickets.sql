-- Tickets open at the end of the plan date, or closed since :since (the NPS survey keeps
-- its distance from them); a backfill sees the tickets as they were that day.
select ticket_id, account_id, contact_id, opened_at,
       case when closed_at < :day_end then closed_at end as closed_at
from stg_support_tickets
where opened_at < :day_end
  and ((closed_at is null and coalesce(status, 'open') <> 'closed')
       or closed_at >= :since)
