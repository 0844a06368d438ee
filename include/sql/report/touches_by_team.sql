-- report section: Touches by team and status
select team, status, count(*) as touches
from communication_calendar
where plan_date = :d
group by team, status
order by team, status
