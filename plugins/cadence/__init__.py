"""cadence: one deduplicated master calendar of every customer touch.

The package holds all the work; the DAG files in ``dags/`` only wire its functions.
Domain functions take data, policy and ``as_of`` and return data; they never import
Airflow and never read the clock.
"""
