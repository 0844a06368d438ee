insert into handoff_batches
  (batch_id, provider, idempotency_key, plan_date, send_date, attempt, status, touch_count,
   response_summary, created_at, updated_at)
values (:batch_id, :provider, :idempotency_key, :plan_date, :send_date, 0, 'recorded',
        :touch_count, null, :now, :now)
