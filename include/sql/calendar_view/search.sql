-- calendar view: accounts, contacts and CSMs whose id, name or email contains :q
-- (:q is lower-cased and wrapped in % by the caller)
select * from (
    select 'account' as kind, account_id as id, name as label, account_id, csm_id
    from stg_accounts
    where lower(account_id) like :q or lower(name) like :q
    union all
    select 'contact' as kind, contact_id as id,
           trim(coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' <' ||
                coalesce(email, '') || '>') as label, account_id, null as csm_id
    from stg_contacts
    where lower(contact_id) like :q or lower(email) like :q
       or lower(coalesce(first_name, '') || ' ' || coalesce(last_name, '')) like :q
    union all
    select 'csm' as kind, csm_id as id, name as label, null as account_id, csm_id
    from stg_csms
    where lower(csm_id) like :q or lower(name) like :q or lower(email) like :q
) found
order by case kind when 'account' then 1 when 'contact' then 2 else 3 end, id
limit 25
