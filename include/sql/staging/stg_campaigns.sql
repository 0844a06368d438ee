-- stg_campaigns: the validated campaigns rows, renamed and typed; nothing else.
with source as (
    select * from validated_campaigns
),

renamed as (
    select
        cast(campaign_id as text) as campaign_id,
        cast(team as text) as team,
        cast(message_type as text) as message_type,
        cast(channel as text) as channel,
        cast(template_id as text) as template_id,
        cast(audience as text) as audience,
        cast(window_start as timestamp with time zone) as window_start,
        cast(window_end as timestamp with time zone) as window_end,
        cast(intent as text) as intent,
        cast(cast(priority as double precision) as bigint) as priority,
        cast(event_at as timestamp with time zone) as event_at,
        case
            when lower(trim(approved)) in ('true', '1', 'yes') then true
            when lower(trim(approved)) in ('false', '0', 'no') then false
        end as approved,
        cast(_loaded_at as timestamp with time zone) as _loaded_at,
        cast(_run_id as text) as _run_id
    from source
)

select * from renamed
