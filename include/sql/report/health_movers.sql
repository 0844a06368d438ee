-- report figure: biggest health movers since the previous scored day
with previous as (
    select max(as_of_date) as as_of_date from account_health where as_of_date < :d
)
select cur.account_id, prev.as_of_date as previous_date, prev.score as previous_score,
       prev.band as previous_band, cur.score, cur.band, cur.score - prev.score as change
from account_health cur
join previous p on true
join account_health prev on prev.account_id = cur.account_id and prev.as_of_date = p.as_of_date
where cur.as_of_date = :d and cur.score <> prev.score
order by abs(cur.score - prev.score) desc, cur.account_id
limit 10
