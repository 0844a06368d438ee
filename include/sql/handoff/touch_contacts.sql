-- The contact of each touch handed over (engagement events name touches, not contacts).
select distinct c.touch_id, c.contact_id
from communication_calendar c
join deliveries d on d.plan_date = c.plan_date and d.touch_id = c.touch_id
