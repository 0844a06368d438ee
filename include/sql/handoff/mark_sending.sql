update handoff_batches
set status = 'sending', attempt = attempt + 1, updated_at = :now
where batch_id = :batch_id
