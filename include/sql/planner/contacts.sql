-- Contacts: address (suppressions by email) and timezone of each contact; of one shard's
-- accounts when in_shard.
select c.contact_id, c.account_id, c.email, c.timezone
from stg_contacts c
{%- if in_shard %}
join plan_accounts shard_of
  on shard_of.plan_date = :as_of and shard_of.account_id = c.account_id
 and shard_of.shard = :shard
{%- endif %}
