-- Every suppression known when the hourly run asks: consent known at send time is
-- honoured whatever the run's logical time.
select email, contact_id, reason, scope, source, created_at, synced_at
from consent_suppressions
