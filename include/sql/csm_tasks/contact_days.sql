-- The planned days (contact's wall clock) of every non-transactional touch of the contacts
-- with a human touch in the plan: a call moved to another day keeps their spacing and caps.
select c.contact_id, c.touch_id, cast(c.local_send_at as date) as day
from communication_calendar as c
where c.plan_date = :plan_date
  and c.status = 'scheduled'
  and c.message_type <> 'transactional'
  and c.contact_id in (
      select contact_id from communication_calendar
      where plan_date = :plan_date and status = 'scheduled'
        and channel in ({% for channel in channels %}:channel_{{ loop.index }}{{ ", " if not loop.last }}{% endfor %})
  )
