-- stg_contacts: the validated contacts rows, renamed and typed; nothing else.
with source as (
    select * from validated_contacts
),

renamed as (
    select
        cast(contact_id as text) as contact_id,
        cast(account_id as text) as account_id,
        cast(email as text) as email,
        cast(first_name as text) as first_name,
        cast(last_name as text) as last_name,
        cast(role as text) as role,
        cast(locale as text) as locale,
        cast(timezone as text) as timezone,
        case
            when lower(trim(is_primary)) in ('true', '1', 'yes') then true
            when lower(trim(is_primary)) in ('false', '0', 'no') then false
        end as is_primary,
        cast(phone as text) as phone,
        cast(updated_at as timestamp with time zone) as updated_at,
        cast(_loaded_at as timestamp with time zone) as _loaded_at,
        cast(_run_id as text) as _run_id
    from source
)

select * from renamed
