-- The segments of every account on :as_of, from the SCD2 segment_membership table.
select account_id, segment_type, segment_key
from segment_membership
where valid_from <= cast(:as_of as date)
    and (valid_to is null or valid_to > cast(:as_of as date))
order by account_id, segment_type, segment_key
