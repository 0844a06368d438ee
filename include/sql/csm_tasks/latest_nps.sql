-- The latest NPS answer of each account (any of its contacts) up to the end of the plan date.
select account_id, score, comment, responded_at
from (
    select c.account_id, n.score, n.comment, n.responded_at,
           row_number() over (partition by c.account_id
                              order by n.responded_at desc, n.response_id desc) as recency
    from stg_nps_responses as n
    join stg_contacts as c on c.contact_id = n.contact_id
    where n.responded_at < :day_end
) ranked
where recency = 1
