-- CSMs and their weekly capacity of human touches.
select csm_id, weekly_capacity, timezone
from stg_csms
