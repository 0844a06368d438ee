-- calendar view: one contact's header (personal data: shown only to signed-in users)
select contact_id, account_id, first_name, last_name, email, role, timezone from stg_contacts
where contact_id = :contact_id
