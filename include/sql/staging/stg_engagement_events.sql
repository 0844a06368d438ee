-- stg_engagement_events: the validated engagement events rows, renamed and typed; nothing else.
with source as (
    select * from validated_engagement_events
),

renamed as (
    select
        cast(provider as text) as provider,
        cast(provider_message_id as text) as provider_message_id,
        cast(touch_id as text) as touch_id,
        cast(event as text) as event,
        cast(occurred_at as timestamp with time zone) as occurred_at,
        cast(_loaded_at as timestamp with time zone) as _loaded_at,
        cast(_run_id as text) as _run_id
    from source
)

select * from renamed
