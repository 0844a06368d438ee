-- Champion changes seen since :since, up to the plan date (they anchor their sequences).
select changed_on, account_id, previous_contact_id, previous_role, new_contact_id,
       new_role, kind
from champion_changes
where changed_on >= :since and changed_on <= :as_of
