-- The day each account's latest expansion deal was opened in one CRM (the cooldown's start).
select account_id, max(opened_on) as last_opened
from crm_expansion_deals
where crm = :crm
group by account_id
