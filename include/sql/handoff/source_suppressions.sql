-- Suppressions from the source files (DESIGN §4 suppressions).
select lower(trim(email)) as email, contact_id, reason, scope, created_at
from stg_suppressions
where created_at <= :now
