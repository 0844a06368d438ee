-- Segment keys of each account current at the plan date (at_risk blocks promotional).
{%- if has_segments %}
select account_id, segment_key
from segment_membership
where valid_from <= :as_of and (valid_to is null or valid_to > :as_of)
{%- else %}
select cast(null as text) as account_id, cast(null as text) as segment_key
where 1 = 0
{%- endif %}
