-- Tables of the hourly handoff; created once, written row by row by the outbox protocol.
create table if not exists handoff_batches (
  batch_id text, provider text, idempotency_key text, plan_date date, send_date date,
  attempt bigint, status text, touch_count bigint, response_summary text,
  created_at timestamp with time zone, updated_at timestamp with time zone
);
create table if not exists deliveries (
  touch_id text, batch_id text, plan_date date, provider text, provider_message_id text,
  status text, reason text, message text, updated_at timestamp with time zone
);
create table if not exists consent_suppressions (
  email text, contact_id text, reason text, scope text, source text,
  created_at timestamp with time zone, synced_at timestamp with time zone
);
create table if not exists consent_watermarks (
  source text, synced_until timestamp with time zone
);
create table if not exists engagement_events (
  provider text, provider_message_id text, touch_id text, event text,
  occurred_at timestamp with time zone, source text
);
create table if not exists engagement_metrics (
  week_start date, template_id text, team text, segment text, sent bigint, delivered bigint,
  open_rate double precision, click_rate double precision,
  unsubscribe_rate double precision, bounce_rate double precision
);
create table if not exists engagement_flags (
  contact_id text, as_of_date date, sends_without_open bigint,
  last_open_at timestamp with time zone, flag text
)
