-- report figure: promotional mix (non-transactional touches per day and message type)
select cast(scheduled_at as date) as day, message_type, count(*) as touches
from communication_calendar
where plan_date = :d and status in ('scheduled', 'sent') and message_type <> 'transactional'
group by cast(scheduled_at as date), message_type
order by day, message_type
