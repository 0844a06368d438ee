-- Segments current at the plan date; valid_from anchors signal-triggered touches.
select account_id, segment_type, segment_key, valid_from
from segment_membership
where valid_from <= :as_of
  and (valid_to is null or valid_to > :as_of)
