-- playbook summary: the plan date's SMS candidates by message type, decision and (when
-- refused) the reason, so the urgent-only rule is seen at work
select c.message_type, d.decision,
       case when d.decision = 'suppressed' then d.detail else '' end as why,
       count(*) as candidates
from touch_candidates c
join calendar_decisions d on d.touch_id = c.touch_id and d.plan_date = c.plan_date
where c.plan_date = :d and c.channel = 'sms'
group by c.message_type, d.decision, case when d.decision = 'suppressed' then d.detail else '' end
order by c.message_type, d.decision, why
