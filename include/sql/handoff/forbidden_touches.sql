-- The scheduled touches of one plan, not yet handed to a provider, that consent known now
-- forbids (DESIGN §8 rule 1; cadence.handoff.consent.forbidden_reasons decides the same for
-- a frame of touches), each detailed by the strongest suppression that forbids it:
-- '<reason> (scope <scope>)', never the email. A suppression names a touch by its
-- contact_id or by its email, matched to the contact's staged email lower-cased and
-- trimmed (with `contact_emails` false, before the first staging, by contact_id only); a
-- suppression without a scope still forbids what its reason forbids:
-- - erasure, do_not_contact: every touch, transactional included;
-- - bounce, spam_report: any email touch;
-- - unsubscribe scope all: every non-transactional touch; scope marketing: promotional and
--   educational ones; scope email: non-transactional email touches;
-- - opt_out scope '<category>/<channel>': non-transactional touches of that category on
--   that channel.
-- Of several suppressions as strong, one naming the contact_id comes before one naming the
-- email, then they come in the consent table's order (merge_suppressions' key).
with touches as (
    select touch_id, contact_id, message_type, category, channel
    from communication_calendar
    where plan_date = :plan_date
      and status = 'scheduled'
      and batch_id is null
),

matched as (
    select t.touch_id, t.message_type, t.category, t.channel, 0 as by_email,
           s.email, s.contact_id, s.reason, s.scope
    from touches as t
    join consent_suppressions as s on s.contact_id = t.contact_id
{%- if contact_emails %}
    union all
    select t.touch_id, t.message_type, t.category, t.channel, 1 as by_email,
           s.email, s.contact_id, s.reason, s.scope
    from touches as t
    join stg_contacts as c on c.contact_id = t.contact_id
    join consent_suppressions as s on s.email = lower(trim(c.email))
{%- endif %}
),

forbidding as (
    select touch_id, reason, scope,
           row_number() over (
               partition by touch_id
               order by case reason when 'erasure' then 0 when 'do_not_contact' then 1
                                    when 'spam_report' then 2 when 'bounce' then 3
                                    when 'unsubscribe' then 4 else 5 end,
                        by_email,
                        coalesce(email, '') || '|' || coalesce(contact_id, '') || '|'
                            || coalesce(scope, '')
           ) as strongest
    from matched
    where reason in ('erasure', 'do_not_contact')
       or (reason in ('bounce', 'spam_report') and channel = 'email')
       or (reason = 'unsubscribe' and coalesce(message_type, '') <> 'transactional'
           and (scope = 'all' or (scope = 'email' and channel = 'email')))
       or (reason = 'unsubscribe' and scope = 'marketing'
           and message_type in ('promotional', 'educational'))
       or (reason = 'opt_out' and coalesce(message_type, '') <> 'transactional'
           and scope = coalesce(category, '') || '/' || coalesce(channel, ''))
)

select touch_id, reason || ' (scope ' || coalesce(scope, '') || ')' as detail
from forbidding
where strongest = 1
order by touch_id
