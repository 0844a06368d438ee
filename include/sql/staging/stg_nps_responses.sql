-- stg_nps_responses: the validated nps responses rows, renamed and typed; nothing else.
with source as (
    select * from validated_nps_responses
),

renamed as (
    select
        cast(response_id as text) as response_id,
        cast(contact_id as text) as contact_id,
        cast(cast(score as double precision) as bigint) as score,
        cast(responded_at as timestamp with time zone) as responded_at,
        cast(comment as text) as comment,
        cast(_loaded_at as timestamp with time zone) as _loaded_at,
        cast(_run_id as text) as _run_id
    from source
)

select * from renamed
