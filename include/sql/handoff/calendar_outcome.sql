update communication_calendar
set status = :status, provider_message_id = :provider_message_id, reason = :reason,
    updated_at = :now
where plan_date = :plan_date and touch_id = :touch_id and batch_id = :batch_id
