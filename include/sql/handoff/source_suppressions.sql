-- Suppressions from the source files (DESIGN §4 suppressions): every row known now,
-- whatever its created_at says (consent fails closed, so a clock ahead still counts).
select lower(trim(email)) as email, contact_id, reason, scope, created_at
from stg_suppressions
