-- int_account_daily_usage: one row per account and usage day with the account-wide totals.
-- Rows whose feature is NULL carry the totals. When a source reports only per-feature rows
-- the busiest feature stands in, because active users are not additive across features.
with usage as (
    select * from stg_usage_daily
),

daily as (
    select
        account_id,
        usage_date,
        coalesce(
            max(case when feature is null then active_users end), max(active_users)
        ) as active_users,
        coalesce(max(case when feature is null then logins end), max(logins)) as logins,
        coalesce(max(case when feature is null then seats_used end), max(seats_used)) as seats_used
    from usage
    group by account_id, usage_date
)

select * from daily
