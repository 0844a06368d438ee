update handoff_batches
set status = :status, response_summary = :summary, updated_at = :now
where batch_id = :batch_id
