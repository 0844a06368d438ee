-- stg_preferences: the validated preferences rows, renamed and typed; nothing else.
with source as (
    select * from validated_preferences
),

renamed as (
    select
        cast(contact_id as text) as contact_id,
        cast(category as text) as category,
        cast(channel as text) as channel,
        cast(frequency as text) as frequency,
        cast(updated_at as timestamp with time zone) as updated_at,
        cast(_loaded_at as timestamp with time zone) as _loaded_at,
        cast(_run_id as text) as _run_id
    from source
)

select * from renamed
