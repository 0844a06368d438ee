-- The person a task names: contacts with a human touch in the plan.
select contact_id, account_id, first_name, last_name, email, role, phone, timezone
from stg_contacts
