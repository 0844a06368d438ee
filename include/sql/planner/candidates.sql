-- The touch candidates of one plan date.
select *
from touch_candidates
where plan_date = :as_of
