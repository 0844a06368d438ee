-- account_health: one row per scored (active or trial) account and as_of date. Churned
-- accounts and accounts whose contract starts later get no score. score_delta_14d compares
-- with the score the account had from the data as known 14 days earlier (NULL when it was
-- not scored then).
with components as (
    select * from int_health_components where as_of_date = cast(:as_of as date)
),

current_snapshot as (
    select * from components where snapshot_date = as_of_date
),

earlier_snapshot as (
    select account_id, score from components where snapshot_date = as_of_date - 14
)

select
    c.account_id,
    c.as_of_date,
    c.score,
    case
        when c.score >= cast(:health_green_min_score as double precision) then 'green'
        when c.score < cast(:health_red_below_score as double precision) then 'red'
        else 'yellow'
    end as band,
    c.product_usage,
    c.adoption_breadth,
    c.engagement,
    c.support,
    c.sentiment,
    c.commercial,
    cast(round(cast(c.score - e.score as numeric(18, 6)), 1) as double precision) as score_delta_14d
from current_snapshot as c
left join earlier_snapshot as e on e.account_id = c.account_id
