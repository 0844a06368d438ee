-- report figure: touches per contact per week against the caps (weeks summed in Python so
-- the SQL stays the same on DuckDB and PostgreSQL)
select contact_id, cast(scheduled_at as date) as day, channel, count(*) as touches
from communication_calendar
where plan_date = :d and status in ('scheduled', 'sent') and message_type <> 'transactional'
group by contact_id, cast(scheduled_at as date), channel
order by contact_id, day, channel
