-- report section: Quarantine by rule
select entity, rule, count(*) as rows
from quarantine
where as_of_date = :d
group by entity, rule
order by rows desc
limit 15
