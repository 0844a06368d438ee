-- report section: Health bands
select band, count(*) as accounts, round(cast(avg(score) as numeric), 1) as avg_score
from account_health
where as_of_date = :d
group by band
order by case band when 'green' then 1 when 'yellow' then 2 when 'red' then 3 else 4 end
