select email, contact_id, reason, scope, source, created_at, synced_at
from consent_suppressions
where created_at <= :now
