-- calendar view: candidates of the same selection that are not on the calendar (merged,
-- suppressed, dropped), with the rule and why
select t.touch_id, t.earliest_at, t.latest_at, t.account_id, t.contact_id, t.team, t.channel,
       t.message_type, t.template_id, d.decision, d.rule, d.detail
from calendar_decisions d
join touch_candidates t on t.touch_id = d.touch_id and t.plan_date = d.plan_date
where d.plan_date = :plan_date and d.decision in ('merged', 'suppressed', 'dropped')
  and not exists (select 1 from communication_calendar c
                  where c.touch_id = d.touch_id and c.plan_date = d.plan_date)
  and (cast(:account_id as text) is null or t.account_id = :account_id)
  and (cast(:contact_id as text) is null or t.contact_id = :contact_id)
  and (cast(:csm_id as text) is null or t.csm_id = :csm_id)
  and (cast(:team as text) is null or t.team = :team)
  and (cast(:channel as text) is null or t.channel = :channel)
order by t.earliest_at, t.touch_id
