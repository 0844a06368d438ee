-- Contacts: address (suppressions by email) and timezone of each contact.
select contact_id, account_id, email, timezone
from stg_contacts
