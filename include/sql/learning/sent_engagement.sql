-- Messages sent in [since, until) with what their engagement showed: delivered (a
-- delivered, open or click event) and the first open or click, from the staged source
-- events and, once the hourly run has ingested some, the provider events. The tier is the
-- account's tier segment on :as_of; the arm is the experiment arm the touch carried.
{% from "macros.sql" import segment_current %}
with sent as (
    select
        touch_id,
        min(contact_id) as contact_id,
        min(account_id) as account_id,
        min(channel) as channel,
        min(message_type) as message_type,
        min(timezone) as timezone,
        min(experiment_arm) as experiment_arm,
        min(scheduled_at) as sent_at
    from communication_calendar
    where status = 'sent' and scheduled_at >= :since and scheduled_at < :until
    group by touch_id
),

events as (
    select touch_id, event, occurred_at from stg_engagement_events where touch_id is not null
    union
    select touch_id, event, occurred_at from engagement_events where touch_id is not null
),

per_touch as (
    select
        touch_id,
        max(case when event in ('delivered', 'open', 'click') then 1 else 0 end) as delivered,
        max(case when event in ('open', 'click') then 1 else 0 end) as opened,
        max(case when event = 'click' then 1 else 0 end) as clicked,
        max(case when event = 'unsubscribe' then 1 else 0 end) as unsubscribed,
        min(case when event in ('open', 'click') then occurred_at end) as first_open_at
    from events
    where occurred_at < :until
    group by touch_id
)

select
    s.touch_id,
    s.contact_id,
    s.account_id,
    s.channel,
    s.message_type,
    s.timezone,
    s.experiment_arm,
    s.sent_at,
    coalesce(p.delivered, 0) as delivered,
    coalesce(p.opened, 0) as opened,
    coalesce(p.clicked, 0) as clicked,
    coalesce(p.unsubscribed, 0) as unsubscribed,
    p.first_open_at,
    coalesce(t.segment_key, 'unsegmented') as tier
from sent as s
left join per_touch as p on p.touch_id = s.touch_id
left join segment_membership as t
    on t.account_id = s.account_id
    and t.segment_type = 'tier'
    and {{ segment_current('t') }}
