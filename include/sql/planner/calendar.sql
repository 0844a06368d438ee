-- The planned calendar of one plan date, every shard.
select *
from communication_calendar
where plan_date = :as_of
