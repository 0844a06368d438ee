-- The placed meeting times of the plan's human touches go into the calendar, so analysts and
-- the hourly run see when each call really happens; a no-human-tier touch is cancelled in the
-- calendar and its decision becomes suppressed, saying why (again on a rerun).
-- The changed rows are replaced (deleted, then inserted changed) rather than updated: an
-- update of a text column in rows spread over the whole plan makes DuckDB rewrite that
-- column of every row group at the next checkpoint (~3 s at 100k accounts), a delete only
-- marks rows.
create temporary table placed_calendar_rows as
select c.touch_id, c.plan_date, c.contact_id, c.account_id, c.csm_id, c.team, c.message_type,
       c.category, c.channel, c.template_id, c.intent, c.source, c.rule_id,
       m.scheduled_at, m.local_send_at, c.timezone, m.status, m.reason, c.priority,
       c.payload, c.batch_id, c.provider_message_id, c.updated_at, c.shard, c.experiment_arm
from communication_calendar as c
join csm_meeting_times as m
    on m.plan_date = c.plan_date and m.touch_id = c.touch_id
where c.plan_date = :plan_date
  and (c.status = 'scheduled' or (c.status = 'cancelled' and m.status = 'cancelled'));
delete from communication_calendar
where plan_date = :plan_date
  and touch_id in (select touch_id from placed_calendar_rows);
insert into communication_calendar
    (touch_id, plan_date, contact_id, account_id, csm_id, team, message_type, category,
     channel, template_id, intent, source, rule_id, scheduled_at, local_send_at, timezone,
     status, reason, priority, payload, batch_id, provider_message_id, updated_at, shard,
     experiment_arm)
select touch_id, plan_date, contact_id, account_id, csm_id, team, message_type, category,
       channel, template_id, intent, source, rule_id, scheduled_at, local_send_at, timezone,
       status, reason, priority, payload, batch_id, provider_message_id, updated_at, shard,
       experiment_arm
from placed_calendar_rows;
drop table placed_calendar_rows;
create temporary table suppressed_decisions as
select d.touch_id, d.plan_date, d.contact_id, d.account_id,
       cast('suppressed' as varchar) as decision, cast(:rule as varchar) as rule,
       m.reason as detail, d.decided_at, d.shard
from calendar_decisions as d
join csm_meeting_times as m
    on m.plan_date = d.plan_date and m.touch_id = d.touch_id
where d.plan_date = :plan_date
  and m.status = 'cancelled';
delete from calendar_decisions
where plan_date = :plan_date
  and touch_id in (select touch_id from suppressed_decisions);
insert into calendar_decisions
    (touch_id, plan_date, contact_id, account_id, decision, rule, detail, decided_at, shard)
select touch_id, plan_date, contact_id, account_id, decision, rule, detail, decided_at, shard
from suppressed_decisions;
drop table suppressed_decisions
