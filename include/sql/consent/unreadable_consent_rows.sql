-- The consent rows (suppressions, preferences) one validation run could not read.
select entity, row, rule
from quarantine
where run_id = :run_id
  and entity in ('suppressions', 'preferences')
order by entity, rule, row
