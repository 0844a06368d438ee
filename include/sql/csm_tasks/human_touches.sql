-- The scheduled human touches (calls and meetings) of one plan, with their window: each
-- becomes a CSM task. planned_day is the contact's day the planner chose; once the meeting
-- time is placed (csm_meeting_times) a rerun starts again from the planner's day, unless the
-- planner has since rewritten the row. A touch this step cancelled (a no-human tier) is read
-- again, so a rerun decides it again and records it as the first run did.
select c.touch_id, c.contact_id, c.account_id, c.csm_id, c.rule_id, c.channel, c.template_id,
       c.scheduled_at, c.timezone, c.priority, k.earliest_at, k.latest_at,
       coalesce(k.urgent, false) as urgent,
       case when m.scheduled_at = c.scheduled_at then m.planned_day
            else cast(c.local_send_at as date) end as planned_day
from communication_calendar as c
left join touch_candidates as k
    on k.plan_date = c.plan_date and k.touch_id = c.touch_id
left join csm_meeting_times as m
    on m.plan_date = c.plan_date and m.touch_id = c.touch_id
where c.plan_date = :plan_date
  and (c.status = 'scheduled' or (c.status = 'cancelled' and m.status = 'cancelled'))
  and c.channel in ({% for channel in channels %}:channel_{{ loop.index }}{{ ", " if not loop.last }}{% endfor %})
