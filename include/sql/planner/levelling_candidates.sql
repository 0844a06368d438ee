-- The touch candidates of one plan date of the accounts with a human touch: the windows of
-- the touches CSM levelling moves and the notes of those it changes.
select k.*
from touch_candidates as k
where k.plan_date = :as_of
  and k.account_id in (
    select h.account_id
    from communication_calendar as h
    where h.plan_date = :as_of
      and h.status = 'scheduled'
      and h.csm_id is not null
      and coalesce(h.message_type, '') <> 'transactional'
      and h.channel in ({% for channel in channels %}:channel_{{ loop.index }}{{ ", " if not loop.last }}{% endfor %})
  )
