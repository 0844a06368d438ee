-- A contact's `never` for a category on a channel is an opt-out of exactly that.
select contact_id, category, channel, updated_at as created_at
from stg_preferences
where frequency = 'never' and updated_at <= :now
