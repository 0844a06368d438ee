-- calendar view: one account's header
select account_id, name, csm_id, status, renewal_date, arr from stg_accounts
where account_id = :account_id
