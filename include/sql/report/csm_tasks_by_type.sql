-- report section: CSM tasks by type
select task_type, count(*) as tasks
from csm_tasks
where plan_date = :d
group by task_type
order by tasks desc
