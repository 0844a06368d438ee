-- report section: Current segments
select segment_type, segment_key, count(*) as accounts
from segment_membership
where is_current
group by segment_type, segment_key
order by segment_type, accounts desc
