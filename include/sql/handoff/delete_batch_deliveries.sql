-- Deliveries of a batch are rewritten with their outcome (faster than row updates).
delete from deliveries where batch_id = :batch_id
