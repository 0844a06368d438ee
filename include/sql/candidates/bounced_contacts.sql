-- Contacts whose email bounced by the end of the plan date (by id, or by address).
select c.contact_id
from stg_contacts c
join stg_suppressions s on s.contact_id = c.contact_id
where s.reason = 'bounce' and (s.created_at is null or s.created_at < :day_end)
union
select c.contact_id
from stg_contacts c
join stg_suppressions s on lower(s.email) = lower(c.email)
where s.reason = 'bounce' and (s.created_at is null or s.created_at < :day_end)
