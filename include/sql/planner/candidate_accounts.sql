-- The accounts with candidates on one plan date (list_plan_shards assigns their shards).
select distinct account_id
from touch_candidates
where plan_date = :as_of
order by account_id
