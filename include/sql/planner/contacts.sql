-- Contacts: address (suppressions by email) and timezone of each contact; of one shard's
-- accounts when in_shard.
select contact_id, account_id, email, timezone
from stg_contacts
{%- if in_shard %}
where account_id in (select account_id from plan_accounts
                     where plan_date = :as_of and shard = :shard)
{%- endif %}
