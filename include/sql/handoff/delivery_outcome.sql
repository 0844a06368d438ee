update deliveries
set status = :status, provider_message_id = :provider_message_id, reason = :reason,
    updated_at = :now
where batch_id = :batch_id and touch_id = :touch_id
