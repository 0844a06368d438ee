-- The account key contacts of the last snapshot before the plan date.
select as_of_date, account_id, contact_id, role
from key_contact_snapshots
where as_of_date = (select max(as_of_date) from key_contact_snapshots
                    where as_of_date < :as_of)
