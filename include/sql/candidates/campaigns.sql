-- Every campaign row; approval and windows are checked in Python against the policy.
select campaign_id, team, message_type, channel, template_id, audience, window_start,
       window_end, intent, priority, event_at, approved
from stg_campaigns
