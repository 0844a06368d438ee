-- The plan date's calendar rows as send-time steering reads them (no payload, no text):
-- which touches sit at the policy slot, in which zone, and their experiment arm.
select touch_id, contact_id, account_id, channel, message_type, status, scheduled_at,
       local_send_at, timezone, experiment_arm
from communication_calendar
where plan_date = :as_of
