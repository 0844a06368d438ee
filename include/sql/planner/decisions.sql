-- The decisions of one plan date, every shard.
select *
from calendar_decisions
where plan_date = :as_of
