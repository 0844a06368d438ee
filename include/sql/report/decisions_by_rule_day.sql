-- report figure: decisions by rule over the horizon (day the candidate could first go)
select cast(t.earliest_at as date) as day, d.decision, d.rule, count(*) as candidates
from calendar_decisions d
join touch_candidates t on t.touch_id = d.touch_id and t.plan_date = d.plan_date
where d.plan_date = :d
group by cast(t.earliest_at as date), d.decision, d.rule
order by day, d.rule, d.decision
