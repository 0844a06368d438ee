-- Health of every account on the plan date.
select account_id, score, band, score_delta_14d
from account_health
where as_of_date = :as_of
