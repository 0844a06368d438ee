-- report figure: human touches per CSM and day, with the CSM's weekly capacity
select c.csm_id, cast(c.scheduled_at as date) as day, count(*) as touches,
       max(s.weekly_capacity) as weekly_capacity
from communication_calendar c
left join stg_csms s on s.csm_id = c.csm_id
where c.plan_date = :d and c.status in ('scheduled', 'sent') and c.channel in ('call', 'meeting')
group by c.csm_id, cast(c.scheduled_at as date)
order by c.csm_id nulls last, day
