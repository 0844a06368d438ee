-- Protected touches the planner could not place (decision 'escalated'): each becomes a task
-- for the CSM's manager saying why. One it placed after all (in the calendar) needs none.
select d.touch_id, k.contact_id, k.account_id, k.csm_id, k.rule_id, k.channel, k.template_id,
       k.priority, k.earliest_at, k.latest_at, d.detail
from calendar_decisions as d
join touch_candidates as k
    on k.plan_date = d.plan_date and k.touch_id = d.touch_id
where d.plan_date = :plan_date
  and d.decision = 'escalated'
  and not exists (
      select 1 from communication_calendar as c
      where c.plan_date = d.plan_date and c.touch_id = d.touch_id and c.status = 'scheduled'
  )
