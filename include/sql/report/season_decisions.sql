-- playbook summary: touches a season skipped (held) or moved, by decision
select case when decision = 'held' then 'skipped' else 'moved' end as action,
       decision, count(*) as candidates
from calendar_decisions
where plan_date = :d
  and ((decision = 'held' and detail like 'season %') or detail like 'moved past season %')
group by case when decision = 'held' then 'skipped' else 'moved' end, decision
