-- Tickets open at the end of the plan date, per account: how many, how many P1/P2, the top.
select account_id,
       count(*) as open_tickets,
       sum(case when priority in ('p1', 'p2') then 1 else 0 end) as urgent_tickets,
       min(priority) as top_ticket_priority
from stg_support_tickets
where opened_at < :day_end
  and (closed_at is null or closed_at >= :day_end)
  and coalesce(status, 'open') <> 'closed'
group by account_id
