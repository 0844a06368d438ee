"""Tools for developers, never imported by the DAGs: sample data, the demo, benchmarks,
local provider stand-ins, screenshots and the Airflow CLI helpers."""
