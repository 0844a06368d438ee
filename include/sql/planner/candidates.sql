-- The touch candidates of one plan date; of one shard's accounts when in_shard.
{% from "macros.sql" import shard_filter with context %}
select *
from touch_candidates
where plan_date = :as_of
{{- shard_filter() }}
