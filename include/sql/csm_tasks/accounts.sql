-- Accounts with their tier on the plan date: who owns a task and the facts it carries.
{% from "macros.sql" import segment_current %}
select a.account_id, a.name, a.country, a.timezone, a.arr, a.csm_id, a.renewal_date,
       a.renewal_status, a.seats_purchased, t.segment_key as tier
from stg_accounts as a
left join segment_membership as t
    on t.account_id = a.account_id
    and t.segment_type = 'tier'
    and {{ segment_current('t') }}
