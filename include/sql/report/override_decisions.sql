-- playbook summary: touches an account override changed, by decision
select decision, count(*) as candidates
from calendar_decisions
where plan_date = :d
  and detail like '%account override candidates.account_overrides.%'
group by decision
order by decision
