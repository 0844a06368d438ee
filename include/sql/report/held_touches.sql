-- report section: Held touches (what they wait for), e.g. campaign rows awaiting approval
select detail as waiting_for, count(*) as candidates
from calendar_decisions
where plan_date = :d and decision = 'held'
group by detail
order by candidates desc, detail
limit 10
