-- The touch candidates of one plan date; of one shard's accounts when in_shard.
select *
from touch_candidates
where plan_date = :as_of
{%- if in_shard %}
  and account_id in (select account_id from plan_accounts
                     where plan_date = :as_of and shard = :shard)
{%- endif %}
