-- report section: Touches by channel and status
select channel, status, count(*) as touches
from communication_calendar
where plan_date = :d
group by channel, status
order by channel, status
