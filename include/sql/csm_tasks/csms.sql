-- CSMs as task owners: name and email for the calendar, timezone, manager for escalations.
select csm_id, name, email, timezone, manager_id
from stg_csms
