-- The touch candidates of one plan date of the accounts with a human touch: the windows of
-- the touches CSM levelling moves and the notes of those it changes.
{% from "macros.sql" import accounts_with_human_touch %}
select k.*
from touch_candidates as k
where k.plan_date = :as_of
  and k.account_id in ({{ accounts_with_human_touch(channels) }})
