-- Accounts with what candidates and CSM task context need (DESIGN §4 names).
select account_id, name, industry, country, timezone, arr, plan, csm_id, contract_start,
       renewal_date, seats_purchased, status, renewal_status
from stg_accounts
