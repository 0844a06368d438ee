-- The scheduled calendar rows of one plan date of the accounts with a human touch (a call
-- or meeting of an account with a CSM): CSM levelling moves those and counts what their
-- contacts and accounts receive. Ordered as the shards wrote them.
select c.*
from communication_calendar as c
where c.plan_date = :as_of
  and c.status = 'scheduled'
  and c.account_id in (
    select h.account_id
    from communication_calendar as h
    where h.plan_date = :as_of
      and h.status = 'scheduled'
      and h.csm_id is not null
      and coalesce(h.message_type, '') <> 'transactional'
      and h.channel in ({% for channel in channels %}:channel_{{ loop.index }}{{ ", " if not loop.last }}{% endfor %})
  )
order by c.shard, c.touch_id
