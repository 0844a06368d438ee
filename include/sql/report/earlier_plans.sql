-- report: plans before this one (none on a first run)
select count(*) as plans from (
    select distinct plan_date from calendar_decisions where plan_date < :d
) p
