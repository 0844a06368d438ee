-- The latest NPS response of every contact up to the end of the plan date.
select contact_id, score, responded_at
from (
    select contact_id, score, responded_at,
           row_number() over (partition by contact_id
                              order by responded_at desc, response_id desc) as recency
    from stg_nps_responses
    where responded_at < :day_end
) ranked
where recency = 1
