-- stg_suppressions: the validated suppressions rows, renamed and typed; nothing else.
with source as (
    select * from validated_suppressions
),

renamed as (
    select
        cast(email as text) as email,
        cast(contact_id as text) as contact_id,
        cast(reason as text) as reason,
        cast(scope as text) as scope,
        cast(created_at as timestamp with time zone) as created_at,
        cast(_loaded_at as timestamp with time zone) as _loaded_at,
        cast(_run_id as text) as _run_id
    from source
)

select * from renamed
