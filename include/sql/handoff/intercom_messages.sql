-- Touches handed to Intercom with the message id its /messages answer gave: the id an
-- Intercom content data export names as ruleset_id.
select distinct touch_id, provider_message_id
from deliveries
where provider = 'intercom' and provider_message_id is not null
