-- Contacts: address (suppressions by email), timezone and whether there is a phone number
-- to send an SMS to (not the number: the planner needs no personal data beyond the
-- address) of each contact; of one shard's accounts when in_shard.
{% from "macros.sql" import shard_filter with context %}
select contact_id, account_id, email, timezone,
       (phone is not null and trim(phone) <> '') as has_phone
from stg_contacts
{{- shard_filter('account_id', 'where') }}
