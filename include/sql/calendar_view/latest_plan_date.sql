-- calendar view: the newest plan
select max(plan_date) as plan_date from communication_calendar
