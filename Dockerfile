# The image docker-compose runs: Airflow 3.3.2 plus cadence's pinned requirements.
FROM apache/airflow:3.3.2-python3.11
COPY requirements.txt /requirements.txt
RUN pip install --no-cache-dir -r /requirements.txt
