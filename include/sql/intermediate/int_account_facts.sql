-- int_account_facts: what was known about each scored account at the end of a snapshot day.
-- Each run computes two snapshots, its as_of date and 14 days earlier, both from the data
-- as known on that day (every event filtered to before the day's end, UTC), so the 14-day
-- delta is right even in a backfill whose earlier days were never built.
-- Accounts come from the latest full snapshot (sources carry no account history).
with snapshots as (
    select cast(:as_of as date) as snapshot_date
    union all
    select cast(:as_of as date) - 14 as snapshot_date
),

accounts as (
    select
        a.account_id,
        s.snapshot_date,
        cast(cast(s.snapshot_date + 1 as timestamp) as timestamp with time zone) as known_before,
        coalesce(a.seats_purchased, 0) as seats_purchased,
        least(30, s.snapshot_date - a.contract_start + 1) as days_observed_30d,
        greatest(0, least(30, s.snapshot_date - a.contract_start + 1 - 30)) as days_observed_prior_30d,
        a.renewal_date - s.snapshot_date as days_to_renewal,
        a.renewal_status
    from stg_accounts as a
    cross join snapshots as s
    where a.status in ('active', 'trial') and a.contract_start <= s.snapshot_date
),

usage as (
    select
        acc.account_id,
        acc.snapshot_date,
        cast(sum(case when u.usage_date > acc.snapshot_date - 30 then u.active_users else 0 end)
            as double precision) as active_user_days_30d,
        cast(sum(case when u.usage_date <= acc.snapshot_date - 30 then u.active_users else 0 end)
            as double precision) as active_user_days_prior_30d,
        cast(sum(case when u.usage_date > acc.snapshot_date - 30 then coalesce(u.logins, 0) else 0 end)
            as double precision) as logins_30d,
        max(case when u.usage_date > acc.snapshot_date - 7 then u.seats_used end) as seats_used_7d,
        max(case when u.usage_date > acc.snapshot_date - 30 then u.seats_used end) as seats_used_30d,
        max(case when coalesce(u.logins, u.active_users) > 0 then u.usage_date end) as last_login_date
    from accounts as acc
    inner join int_account_daily_usage as u
        on u.account_id = acc.account_id
        and u.usage_date <= acc.snapshot_date
        and u.usage_date > acc.snapshot_date - 60
    group by acc.account_id, acc.snapshot_date
),

features as (
    select
        acc.account_id,
        acc.snapshot_date,
        count(distinct u.feature) as features_used_30d
    from accounts as acc
    inner join stg_usage_daily as u
        on u.account_id = acc.account_id
        and u.usage_date <= acc.snapshot_date
        and u.usage_date > acc.snapshot_date - 30
    where u.feature is not null and (u.active_users > 0 or u.events > 0)
    group by acc.account_id, acc.snapshot_date
),

tickets as (
    select
        acc.account_id,
        acc.snapshot_date,
        t.priority,
        t.csat,
        coalesce(t.closed_at, t.opened_at) as settled_at,
        acc.known_before,
        -- open at the snapshot: closed later, or not closed yet (a closed ticket without
        -- closed_at is taken as closed: when it closed is unknown)
        t.closed_at >= acc.known_before
        or (t.closed_at is null and coalesce(t.status, 'open') <> 'closed') as is_open
    from accounts as acc
    inner join stg_support_tickets as t
        on t.account_id = acc.account_id
        and t.opened_at < acc.known_before
),

support as (
    select
        account_id,
        snapshot_date,
        count(case when is_open and priority = 'p1' then 1 end) as open_p1_tickets,
        count(case when is_open and priority = 'p2' then 1 end) as open_p2_tickets,
        count(
            case
                when csat <= 2
                    and settled_at < known_before
                    and settled_at >= known_before - interval '30 days'
                then 1
            end
        ) as low_csat_tickets_30d
    from tickets
    group by account_id, snapshot_date
),

responses as (
    select
        acc.account_id,
        acc.snapshot_date,
        acc.known_before,
        n.score,
        n.responded_at,
        row_number() over (
            partition by acc.account_id, acc.snapshot_date, n.contact_id
            order by n.responded_at desc, n.response_id desc
        ) as contact_recency,
        row_number() over (
            partition by acc.account_id, acc.snapshot_date
            order by n.responded_at desc, n.response_id desc
        ) as account_recency
    from accounts as acc
    inner join stg_contacts as c on c.account_id = acc.account_id
    inner join stg_nps_responses as n
        on n.contact_id = c.contact_id
        and n.responded_at < acc.known_before
        and n.responded_at
            >= acc.known_before - interval '1 day' * cast(:health_nps_lookback_days as integer)
),

nps as (
    select
        account_id,
        snapshot_date,
        avg(case when contact_recency = 1 then cast(score as double precision) end)
            as nps_contact_average,
        max(case when account_recency = 1 then score end) as nps_latest_score,
        max(
            case
                when responded_at >= known_before
                    - interval '1 hour' * cast(:segment_promoter_window_hours as integer)
                then score
            end
        ) as nps_best_recent_score
    from responses
    group by account_id, snapshot_date
),

touch_accounts as (
    select distinct touch_id, account_id from communication_calendar
),

-- engagement from the source files and from the providers (ingested hourly)
touch_events as (
    select touch_id, event, occurred_at from stg_engagement_events
    union
    select touch_id, event, occurred_at from engagement_events
),

messages as (
    select
        acc.account_id,
        acc.snapshot_date,
        count(distinct e.touch_id) as messages_delivered_30d,
        count(distinct case when e.event in ('open', 'click') then e.touch_id end)
            as messages_engaged_30d
    from accounts as acc
    inner join touch_accounts as t on t.account_id = acc.account_id
    inner join touch_events as e
        on e.touch_id = t.touch_id
        and e.occurred_at < acc.known_before
        and e.occurred_at >= acc.known_before - interval '30 days'
    where e.event in ('delivered', 'open', 'click')
    group by acc.account_id, acc.snapshot_date
),

sent as (
    select
        acc.account_id,
        acc.snapshot_date,
        count(distinct c.touch_id) as recent_touches_sent
    from accounts as acc
    inner join communication_calendar as c
        on c.account_id = acc.account_id
        and c.status = 'sent'
        and c.scheduled_at < acc.known_before
        and c.scheduled_at
            >= acc.known_before - interval '1 day' * cast(:segment_silent_days as integer)
    group by acc.account_id, acc.snapshot_date
)

select
    cast(:as_of as date) as as_of_date,
    acc.snapshot_date,
    acc.account_id,
    acc.seats_purchased,
    acc.days_observed_30d,
    acc.days_observed_prior_30d,
    coalesce(u.active_user_days_30d, 0) as active_user_days_30d,
    coalesce(u.active_user_days_prior_30d, 0) as active_user_days_prior_30d,
    coalesce(u.logins_30d, 0) as logins_30d,
    u.seats_used_7d,
    u.seats_used_30d,
    u.last_login_date,
    coalesce(f.features_used_30d, 0) as features_used_30d,
    coalesce(s.open_p1_tickets, 0) as open_p1_tickets,
    coalesce(s.open_p2_tickets, 0) as open_p2_tickets,
    coalesce(s.low_csat_tickets_30d, 0) as low_csat_tickets_30d,
    n.nps_contact_average,
    n.nps_latest_score,
    n.nps_best_recent_score,
    coalesce(m.messages_delivered_30d, 0) as messages_delivered_30d,
    coalesce(m.messages_engaged_30d, 0) as messages_engaged_30d,
    coalesce(t.recent_touches_sent, 0) as recent_touches_sent,
    acc.days_to_renewal,
    acc.renewal_status
from accounts as acc
left join usage as u on u.account_id = acc.account_id and u.snapshot_date = acc.snapshot_date
left join features as f on f.account_id = acc.account_id and f.snapshot_date = acc.snapshot_date
left join support as s on s.account_id = acc.account_id and s.snapshot_date = acc.snapshot_date
left join nps as n on n.account_id = acc.account_id and n.snapshot_date = acc.snapshot_date
left join messages as m on m.account_id = acc.account_id and m.snapshot_date = acc.snapshot_date
left join sent as t on t.account_id = acc.account_id and t.snapshot_date = acc.snapshot_date
