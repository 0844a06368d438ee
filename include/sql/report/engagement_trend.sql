-- report figure: engagement trend (rates weighted by delivered messages)
select week_start, sum(sent) as sent, sum(delivered) as delivered,
       sum(open_rate * delivered) / nullif(sum(delivered), 0) as open_rate,
       sum(click_rate * delivered) / nullif(sum(delivered), 0) as click_rate,
       sum(unsubscribe_rate * delivered) / nullif(sum(delivered), 0) as unsubscribe_rate
from engagement_metrics
where week_start <= :d
group by week_start
order by week_start
