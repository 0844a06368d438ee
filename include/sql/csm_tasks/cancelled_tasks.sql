-- Tasks the plan cancelled (their feed events now say STATUS:CANCELLED) that no owner has
-- any more, as the last earlier plan described them: the CRM closes these.
select t.task_id, t.account_id, t.contact_id, t.task_type, t.priority, t.context,
       t.account_name, t.contact_name, t.csm_id, t.owner_type, t.due_date, t.task_zone
from (
    select distinct task_id from csm_task_versions
    where status = 'cancelled' and plan_date = :plan_date
) as v
join csm_tasks as t
    on t.task_id = v.task_id
    and t.plan_date = (select max(p.plan_date) from csm_tasks as p
                       where p.task_id = v.task_id and p.plan_date < :plan_date)
where v.task_id not in (select task_id from csm_tasks where plan_date = :plan_date)
order by t.task_id
