-- report figure: segment sizes today and the accounts that entered or left on the day
{% from "macros.sql" import segment_current %}
select segment_type, segment_key,
       sum(case when {{ segment_current(on='cast(:d as date)') }} then 1 else 0 end)
           as accounts,
       sum(case when valid_from = :d then 1 else 0 end) as entered,
       sum(case when valid_to = :d then 1 else 0 end) as left_segment
from segment_membership
group by segment_type, segment_key
order by segment_type, segment_key
