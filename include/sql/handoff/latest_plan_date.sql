-- The plan the hourly handoff works from: the latest plan_date on or before the run's day.
select max(plan_date) as plan_date
from communication_calendar
where plan_date <= :day
