-- segment_membership: SCD2 history of every account's segments, rebuilt from all daily
-- snapshots of segment_daily (gaps and islands), so rerunning a date or backfilling
-- dates in any order gives the same table. A run of consecutive snapshots in a segment is
-- one row: valid_from is its first day; valid_to is the day after its last day, NULL while
-- it reaches the latest snapshot (is_current). A missing snapshot day does not split a run.
with daily as (
    select * from segment_daily
),

snapshot_days as (
    select
        as_of_date,
        dense_rank() over (order by as_of_date) as snapshot_number
    from (select distinct as_of_date from daily) as days
),

numbered as (
    select
        d.account_id,
        d.segment_type,
        d.segment_key,
        d.as_of_date,
        s.snapshot_number - row_number() over (
            partition by d.account_id, d.segment_type, d.segment_key
            order by d.as_of_date
        ) as island
    from daily as d
    inner join snapshot_days as s on s.as_of_date = d.as_of_date
),

islands as (
    select
        account_id,
        segment_type,
        segment_key,
        min(as_of_date) as valid_from,
        max(as_of_date) as last_day
    from numbered
    group by account_id, segment_type, segment_key, island
),

latest as (
    select max(as_of_date) as latest_day from daily
)

select
    i.account_id,
    i.segment_type,
    i.segment_key,
    i.valid_from,
    case when i.last_day = l.latest_day then null else i.last_day + 1 end as valid_to,
    i.last_day = l.latest_day as is_current
from islands as i
cross join latest as l
