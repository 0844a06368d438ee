-- playbook summary: each candidate rule's decisions on the plan date
select t.rule_id, d.decision, count(*) as candidates
from calendar_decisions d
join touch_candidates t on t.touch_id = d.touch_id and t.plan_date = d.plan_date
where d.plan_date = :d
group by t.rule_id, d.decision
order by t.rule_id, d.decision
