-- Contacts: address (suppressions by email), timezone and whether there is a phone number
-- to send an SMS to (not the number: the planner needs no personal data beyond the
-- address) of each contact; of one shard's accounts when in_shard.
select contact_id, account_id, email, timezone,
       (phone is not null and trim(phone) <> '') as has_phone
from stg_contacts
{%- if in_shard %}
where account_id in (select account_id from plan_accounts
                     where plan_date = :as_of and shard = :shard)
{%- endif %}
