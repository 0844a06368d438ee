-- Batches whose outcome is not final: recorded (never sent), sending or unknown.
select batch_id, provider, idempotency_key, plan_date, send_date, status
from handoff_batches
where status in ('recorded', 'sending', 'unknown')
order by created_at, batch_id
