-- stg_support_tickets: the validated support tickets rows, renamed and typed; nothing else.
with source as (
    select * from validated_support_tickets
),

renamed as (
    select
        cast(ticket_id as text) as ticket_id,
        cast(account_id as text) as account_id,
        cast(contact_id as text) as contact_id,
        cast(opened_at as timestamp with time zone) as opened_at,
        cast(closed_at as timestamp with time zone) as closed_at,
        cast(priority as text) as priority,
        cast(status as text) as status,
        cast(cast(csat as double precision) as bigint) as csat,
        cast(_loaded_at as timestamp with time zone) as _loaded_at,
        cast(_run_id as text) as _run_id
    from source
)

select * from renamed
