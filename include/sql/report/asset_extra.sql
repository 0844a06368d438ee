-- asset event extra: the rows of one date of a table, counted by one column
-- (table, date column and count column come from cadence.report.ASSET_EXTRAS, not from input)
select cast({{ by }} as text) as value, count(*) as n
from {{ table }}
where {{ date_column }} = :d
group by {{ by }}
order by n desc
