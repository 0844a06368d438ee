-- Engagement events that name the touch they belong to.
select touch_id, event, occurred_at
from engagement_events
where touch_id is not null and occurred_at >= :since and occurred_at < :until
