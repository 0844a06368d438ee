select csm_id, name, timezone, weekly_capacity
from stg_csms
