-- playbook summary: touches a season skipped or lightened (held) or moved, by decision
select case when decision <> 'held' then 'moved'
            when detail like '%lighter cadence, one in %' then 'lightened'
            else 'skipped' end as action,
       decision, count(*) as candidates
from calendar_decisions
where plan_date = :d
  and ((decision = 'held' and detail like '%season %): lighter cadence%')
       or detail like '%moved past season %')
group by case when decision <> 'held' then 'moved'
              when detail like '%lighter cadence, one in %' then 'lightened'
              else 'skipped' end, decision
order by action, decision
