-- stg_accounts: the validated accounts rows, renamed and typed; nothing else.
with source as (
    select * from validated_accounts
),

renamed as (
    select
        cast(account_id as text) as account_id,
        cast(name as text) as name,
        cast(industry as text) as industry,
        cast(country as text) as country,
        cast(timezone as text) as timezone,
        cast(arr as double precision) as arr,
        cast(plan as text) as plan,
        cast(csm_id as text) as csm_id,
        cast(contract_start as date) as contract_start,
        cast(renewal_date as date) as renewal_date,
        cast(cast(seats_purchased as double precision) as bigint) as seats_purchased,
        cast(status as text) as status,
        cast(renewal_status as text) as renewal_status,
        cast(updated_at as timestamp with time zone) as updated_at,
        cast(_loaded_at as timestamp with time zone) as _loaded_at,
        cast(_run_id as text) as _run_id
    from source
)

select * from renamed
