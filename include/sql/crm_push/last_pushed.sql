-- What was last pushed of each object of one CRM object type.
select object_id, properties
from crm_property_pushes
where crm = :crm and object_type = :object_type
