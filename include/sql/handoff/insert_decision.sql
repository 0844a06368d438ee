insert into calendar_decisions
  (touch_id, plan_date, contact_id, account_id, decision, rule, detail, decided_at)
values (:touch_id, :plan_date, :contact_id, :account_id, :decision, :rule, :detail, :now)
