-- report section: Deliveries by provider and status
select provider, status, count(*) as messages
from deliveries
group by provider, status
order by provider, status
