-- Contacts and their account: a contact carries its account's health properties.
select contact_id, account_id
from stg_contacts
order by contact_id
