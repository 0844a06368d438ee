-- Contacts: address (suppressions by email) and timezone of each contact; of one shard's
-- accounts when in_shard.
{% from "macros.sql" import shard_filter with context %}
select contact_id, account_id, email, timezone
from stg_contacts
{{- shard_filter('account_id', 'where') }}
