-- report section: Top deferral reasons
select rule, count(*) as candidates
from calendar_decisions
where plan_date = :d and decision = 'deferred'
group by rule
order by candidates desc, rule
limit 10
