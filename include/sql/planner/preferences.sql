-- Each contact's latest preference per category and channel.
select contact_id, category, channel, frequency
from (
    select contact_id, category, channel, frequency,
           row_number() over (partition by contact_id, category, channel
                              order by updated_at desc) as newest
    from stg_preferences
) p
where newest = 1
