-- calendar view: the planned touches of one account, contact or CSM in a plan, each with
-- the decision that placed (or cancelled) it; filters are optional (NULL = all)
select c.touch_id, c.scheduled_at, c.local_send_at, c.timezone, c.account_id, c.contact_id,
       c.csm_id, c.team, c.channel, c.message_type, c.template_id, c.status, c.reason,
       d.decision, d.rule, d.detail
from communication_calendar c
left join calendar_decisions d on d.touch_id = c.touch_id and d.plan_date = c.plan_date
where c.plan_date = :plan_date
  and (cast(:account_id as text) is null or c.account_id = :account_id)
  and (cast(:contact_id as text) is null or c.contact_id = :contact_id)
  and (cast(:csm_id as text) is null or c.csm_id = :csm_id)
  and (cast(:team as text) is null or c.team = :team)
  and (cast(:channel as text) is null or c.channel = :channel)
order by c.scheduled_at, c.touch_id
