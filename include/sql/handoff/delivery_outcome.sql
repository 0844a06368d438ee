insert into deliveries
  (touch_id, batch_id, plan_date, provider, provider_message_id, status, reason, message,
   updated_at)
values (:touch_id, :batch_id, :plan_date, :provider, :provider_message_id, :status, :reason,
        :message, :now)
