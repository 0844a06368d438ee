-- report figure: calendar heatmap (touches per UTC day x team x channel)
select cast(scheduled_at as date) as day, team, channel, count(*) as touches
from communication_calendar
where plan_date = :d and status <> 'cancelled'
group by cast(scheduled_at as date), team, channel
order by day, team, channel
