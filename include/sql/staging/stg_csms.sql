-- stg_csms: the validated csms rows, renamed and typed; nothing else.
with source as (
    select * from validated_csms
),

renamed as (
    select
        cast(csm_id as text) as csm_id,
        cast(name as text) as name,
        cast(email as text) as email,
        cast(timezone as text) as timezone,
        cast(cast(weekly_capacity as double precision) as bigint) as weekly_capacity,
        cast(manager_id as text) as manager_id,
        cast(_loaded_at as timestamp with time zone) as _loaded_at,
        cast(_run_id as text) as _run_id
    from source
)

select * from renamed
