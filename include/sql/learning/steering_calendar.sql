-- The plan date's calendar rows as send-time steering reads them (no payload, no text):
-- which touches sit at the policy slot, in which zone, their experiment arm and the arm of
-- the candidate each came from (the label steering gives the row).
select c.touch_id, c.contact_id, c.account_id, c.channel, c.message_type, c.status,
       c.scheduled_at, c.local_send_at, c.timezone, c.experiment_arm,
       t.experiment_arm as candidate_arm
from communication_calendar as c
left join (
    select touch_id, min(experiment_arm) as experiment_arm
    from touch_candidates
    where plan_date = :as_of
    group by touch_id
) as t on t.touch_id = c.touch_id
where c.plan_date = :as_of
