select provider, provider_message_id, touch_id, event, occurred_at
from stg_engagement_events
where occurred_at < :until
