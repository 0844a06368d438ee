-- Scratch rows of one transaction: the touches the hourly run closes and why, applied by
-- set_touch_status and update_decision in one statement each, then dropped.
create temporary table touch_updates (
  touch_id text, plan_date text, status text, reason text,
  decided_at timestamp with time zone, decision text, rule text, detail text
)
