-- int_health_components: the six health components (each 0..100) and the weighted score
-- of every account at both snapshots of int_account_facts, rounded to one decimal.
-- The formulas are documented in intermediate/schema.yml; every target and weight is a
-- policy value (health.*).
with facts as (
    select * from int_account_facts where as_of_date = cast(:as_of as date)
),

measures as (
    select
        as_of_date,
        snapshot_date,
        account_id,
        -- seats bought; without a contract seat count the most seats seen in use, at least 1
        cast(
            case
                when seats_purchased > 0 then seats_purchased
                else greatest(coalesce(seats_used_30d, 0), 1)
            end as double precision
        ) as seats,
        active_user_days_30d / days_observed_30d as active_users_per_day,
        case
            when days_observed_prior_30d > 0 and active_user_days_prior_30d > 0
            then (active_user_days_30d / days_observed_30d)
                / (active_user_days_prior_30d / days_observed_prior_30d) - 1
        end as usage_trend,
        logins_30d * 30.0 / days_observed_30d as logins_per_30d,
        features_used_30d,
        open_p1_tickets,
        open_p2_tickets,
        low_csat_tickets_30d,
        nps_contact_average,
        messages_delivered_30d,
        messages_engaged_30d,
        days_to_renewal,
        coalesce(renewal_status, 'open') as renewal_status
    from facts
),

parts as (
    select
        *,
        least(
            100.0,
            100.0 * active_users_per_day / seats
            / cast(:health_active_users_per_seat_target as double precision)
        ) as usage_level_score,
        greatest(0.0, least(100.0, 50.0 + 100.0 * usage_trend)) as usage_trend_score,
        least(
            100.0,
            100.0 * logins_per_30d / seats
            / cast(:health_logins_per_seat_target as double precision)
        ) as login_score,
        case
            when messages_delivered_30d > 0
            then 100.0 * messages_engaged_30d / messages_delivered_30d
        end as message_score
    from measures
),

components as (
    select
        as_of_date,
        snapshot_date,
        account_id,
        case
            when usage_trend is null then usage_level_score
            else (1 - cast(:health_usage_trend_share as double precision)) * usage_level_score
                + cast(:health_usage_trend_share as double precision) * usage_trend_score
        end as product_usage,
        least(
            100.0,
            100.0 * features_used_30d / cast(:health_features_target as double precision)
        ) as adoption_breadth,
        case
            when message_score is null then login_score
            else (1 - cast(:health_message_engagement_share as double precision)) * login_score
                + cast(:health_message_engagement_share as double precision) * message_score
        end as engagement,
        greatest(
            0.0,
            100.0
            - open_p1_tickets * cast(:health_open_p1_penalty as double precision)
            - open_p2_tickets * cast(:health_open_p2_penalty as double precision)
            - low_csat_tickets_30d * cast(:health_low_csat_penalty as double precision)
        ) as support,
        coalesce(
            10.0 * nps_contact_average, cast(:health_neutral_sentiment as double precision)
        ) as sentiment,
        case
            when renewal_status in ('committed', 'renewed') then 100.0
            when renewal_status = 'lost' then 0.0
            else greatest(
                0.0,
                least(
                    100.0,
                    100.0 * days_to_renewal
                    / cast(:health_renewal_risk_days as double precision)
                )
            )
        end as commercial
    from parts
),

scored as (
    select
        *,
        cast(:health_weight_product_usage as double precision) * product_usage
        + cast(:health_weight_adoption_breadth as double precision) * adoption_breadth
        + cast(:health_weight_engagement as double precision) * engagement
        + cast(:health_weight_support as double precision) * support
        + cast(:health_weight_sentiment as double precision) * sentiment
        + cast(:health_weight_commercial as double precision) * commercial as score
    from components
)

select
    as_of_date,
    snapshot_date,
    account_id,
    -- numeric(18, 6) on both: DuckDB's bare numeric is decimal(18,3), which rounded a
    -- double twice (65.8499.. -> 65.850 -> 65.9) where PostgreSQL rounded once (65.8).
    cast(round(cast(score as numeric(18, 6)), 1) as double precision) as score,
    cast(round(cast(product_usage as numeric(18, 6)), 1) as double precision) as product_usage,
    cast(round(cast(adoption_breadth as numeric(18, 6)), 1) as double precision) as adoption_breadth,
    cast(round(cast(engagement as numeric(18, 6)), 1) as double precision) as engagement,
    cast(round(cast(support as numeric(18, 6)), 1) as double precision) as support,
    cast(round(cast(sentiment as numeric(18, 6)), 1) as double precision) as sentiment,
    cast(round(cast(commercial as numeric(18, 6)), 1) as double precision) as commercial
from scored
