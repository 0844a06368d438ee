-- Contacts flagged by the latest engagement run up to the plan date (their last emails
-- went unopened): the candidates give them a lighter cadence.
select distinct contact_id
from engagement_flags
where as_of_date = (
    select max(as_of_date) from engagement_flags where as_of_date <= :as_of
)
order by contact_id
