-- report section: Top reasons a touch is not sent (suppressed, dropped, merged)
select rule, count(*) as candidates
from calendar_decisions
where plan_date = :d and decision in ('suppressed', 'dropped', 'merged')
group by rule
order by candidates desc, rule
limit 10
