-- Contacts with the account and CSM names a message is personalised with, and the phone
-- an SMS goes to.
select c.contact_id, c.account_id, lower(trim(c.email)) as email, c.first_name, c.last_name,
       c.phone,
       a.name as account_name, s.name as csm_name, s.email as csm_email
from stg_contacts c
left join stg_accounts a on a.account_id = c.account_id
left join stg_csms s on s.csm_id = a.csm_id
