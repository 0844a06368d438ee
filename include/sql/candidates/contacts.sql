-- Contacts: who may be addressed, their role and whether they are the account's primary.
select contact_id, account_id, first_name, role, timezone, is_primary
from stg_contacts
