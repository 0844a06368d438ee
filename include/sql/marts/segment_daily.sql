-- segment_daily: the segments each account is in on the as_of date, one row per
-- account x segment. Tier and stage: every account whose contract has started (one tier,
-- one stage each). Signals: scored (active or trial) accounts only, any number of them.
-- Stage precedence: churned, then renewal, then onboarding, adoption, mature.
with accounts as (
    select * from stg_accounts where contract_start <= cast(:as_of as date)
),

health as (
    select * from account_health where as_of_date = cast(:as_of as date)
),

facts as (
    select * from int_account_facts
    where as_of_date = cast(:as_of as date) and snapshot_date = as_of_date
),

tiers as (
    select
        account_id,
        'tier' as segment_type,
        case
            when arr >= cast(:segment_strategic_min_arr as double precision)
                or account_id in (select account_id from segment_named_strategic_accounts)
            then 'strategic'
            when arr >= cast(:segment_enterprise_min_arr as double precision) then 'enterprise'
            when arr >= cast(:segment_mid_market_min_arr as double precision) then 'mid_market'
            when arr >= cast(:segment_smb_min_arr as double precision) then 'smb'
            else 'tech_touch'
        end as segment_key
    from accounts
),

stages as (
    select
        account_id,
        'stage' as segment_type,
        case
            when status = 'churned' then 'churned'
            -- no renewal decision recorded counts as open
            when renewal_date - cast(:as_of as date)
                    <= cast(:segment_renewal_window_days as integer)
                and coalesce(renewal_status, 'open') = 'open'
            then 'renewal'
            when cast(:as_of as date) - contract_start
                < cast(:segment_onboarding_days as integer)
            then 'onboarding'
            when cast(:as_of as date) - contract_start
                < cast(:segment_adoption_days as integer)
            then 'adoption'
            else 'mature'
        end as segment_key
    from accounts
),

signals as (
    select f.account_id, 'signal' as segment_type, 'at_risk' as segment_key
    from facts as f
    inner join health as h on h.account_id = f.account_id
    where h.band = 'red'
        or h.score_delta_14d <= -cast(:segment_at_risk_score_drop as double precision)

    union all

    select f.account_id, 'signal' as segment_type, 'expansion_ready' as segment_key
    from facts as f
    left join health as h on h.account_id = f.account_id
    where (
        f.seats_purchased > 0
        and f.seats_used_7d
            >= cast(:segment_expansion_seat_share as double precision) * f.seats_purchased
    )
    or h.engagement >= cast(:segment_expansion_engagement_min as double precision)

    union all

    select account_id, 'signal' as segment_type, 'promoter' as segment_key
    from facts
    where nps_best_recent_score >= cast(:segment_promoter_min_score as integer)

    union all

    select account_id, 'signal' as segment_type, 'detractor' as segment_key
    from facts
    where nps_latest_score <= cast(:segment_detractor_max_score as integer)

    union all

    select account_id, 'signal' as segment_type, 'silent' as segment_key
    from facts
    where recent_touches_sent = 0

    union all

    select account_id, 'signal' as segment_type, 'inactive' as segment_key
    from facts
    where last_login_date is null
        or last_login_date <= cast(:as_of as date) - cast(:segment_inactive_days as integer)
),

memberships as (
    select * from tiers
    union all
    select * from stages
    union all
    select * from signals
)

select
    cast(:as_of as date) as as_of_date,
    account_id,
    cast(segment_type as text) as segment_type,
    cast(segment_key as text) as segment_key
from memberships
