-- The planned days (contact's wall clock) of every non-transactional touch of the contacts
-- with a human touch in the plan: a call moved to another day keeps their spacing and caps.
-- A human touch counts on the planner's day (as human_touches.sql), so a rerun places alike.
select c.contact_id, c.touch_id,
       case when m.scheduled_at = c.scheduled_at then m.planned_day
            else cast(c.local_send_at as date) end as day
from communication_calendar as c
left join csm_meeting_times as m
    on m.plan_date = c.plan_date and m.touch_id = c.touch_id
where c.plan_date = :plan_date
  and c.status = 'scheduled'
  and c.message_type <> 'transactional'
  and c.contact_id in (
      select contact_id from communication_calendar
      where plan_date = :plan_date and status = 'scheduled'
        and channel in ({% for channel in channels %}:channel_{{ loop.index }}{{ ", " if not loop.last }}{% endfor %})
  )
