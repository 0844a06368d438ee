-- Health score and band of every account scored on the plan date (what is pushed to the CRM).
select account_id, score, band
from account_health
where as_of_date = :as_of
order by account_id
