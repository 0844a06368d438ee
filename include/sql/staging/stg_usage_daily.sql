-- stg_usage_daily: the validated usage daily rows, renamed and typed; nothing else.
with source as (
    select * from validated_usage_daily
),

renamed as (
    select
        cast(account_id as text) as account_id,
        cast(usage_date as date) as usage_date,
        cast(cast(active_users as double precision) as bigint) as active_users,
        cast(cast(logins as double precision) as bigint) as logins,
        cast(cast(events as double precision) as bigint) as events,
        cast(feature as text) as feature,
        cast(cast(seats_used as double precision) as bigint) as seats_used,
        cast(_loaded_at as timestamp with time zone) as _loaded_at,
        cast(_run_id as text) as _run_id
    from source
)

select * from renamed
