-- Remember what was pushed: the next run pushes only what differs from it.
insert into crm_property_pushes (crm, object_type, object_id, properties, as_of_date, pushed_at)
values (:crm, :object_type, :object_id, :properties, :as_of_date, :pushed_at)
