-- report section: Decisions
select decision, count(*) as candidates
from calendar_decisions
where plan_date = :d
group by decision
order by candidates desc
