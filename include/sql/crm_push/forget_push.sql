-- Drop an object's last push record before the new one is written (same transaction).
delete from crm_property_pushes
where crm = :crm and object_type = :object_type and object_id = :object_id
