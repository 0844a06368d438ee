-- calendar view: one CSM and their weekly capacity
select csm_id, name, weekly_capacity from stg_csms where csm_id = :csm_id
