-- The scheduled calendar rows of one plan date of the accounts with a human touch (a call
-- or meeting of an account with a CSM): CSM levelling moves those and counts what their
-- contacts and accounts receive. Ordered as the shards wrote them.
{% from "macros.sql" import accounts_with_human_touch %}
select c.*
from communication_calendar as c
where c.plan_date = :as_of
  and c.status = 'scheduled'
  and c.account_id in ({{ accounts_with_human_touch(channels) }})
order by c.shard, c.touch_id
