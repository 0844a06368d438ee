select touch_id, message from deliveries where batch_id = :batch_id order by touch_id
