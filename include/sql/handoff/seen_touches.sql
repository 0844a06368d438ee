-- Provider message ids that engagement events report per touch (proof of acceptance).
select touch_id, max(provider_message_id) as provider_message_id
from engagement_events
where provider = :provider and touch_id is not null
group by touch_id
