-- Suppressions in force at the plan date, from the sources and the hourly consent sync.
select email, contact_id, reason, scope
from stg_suppressions
where created_at < :day_end
union
select email, contact_id, reason, scope
from consent_suppressions
where created_at < :day_end
