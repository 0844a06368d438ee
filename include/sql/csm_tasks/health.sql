-- Health on the plan date with its components (the two weakest are named in a task).
select account_id, score, band, score_delta_14d, product_usage, adoption_breadth,
       engagement, support, sentiment, commercial
from account_health
where as_of_date = :as_of
