-- Segment keys of each account current at the plan date (at_risk blocks promotional); of
-- one shard's accounts when in_shard.
{% from "macros.sql" import shard_filter with context %}
{% from "macros.sql" import segment_current %}
select account_id, segment_key
from segment_membership
where {{ segment_current() }}
{{- shard_filter() }}
