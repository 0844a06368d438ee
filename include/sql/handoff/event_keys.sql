-- Keys of events already stored around the new ones (dedup on provider, message id,
-- event and time).
select provider, provider_message_id, event, occurred_at
from engagement_events
where occurred_at >= :since and occurred_at <= :until
