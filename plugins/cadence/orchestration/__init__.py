"""Airflow wiring: DAG defaults and assets, each DAG's task functions (one call into a
step each), the run context and the calendar view the Airflow plugin mounts."""
