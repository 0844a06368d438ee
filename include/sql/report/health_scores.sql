-- report figure: health distribution (accounts per 5-point score bin and band)
select floor(score / 5) * 5 as score_bin, band, count(*) as accounts
from account_health
where as_of_date = :d
group by floor(score / 5) * 5, band
order by score_bin, band
