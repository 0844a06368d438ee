-- A contact's `never` for a category on a channel is an opt-out of exactly that; every
-- row known now counts, whatever its updated_at says.
select contact_id, category, channel, updated_at as created_at
from stg_preferences
where frequency = 'never'
