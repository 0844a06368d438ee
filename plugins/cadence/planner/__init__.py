"""The planner: one deduplicated communication calendar under every rule of DESIGN §8.

One module per rule (eligibility, deduplication, frequency_cap, spacing, conflicts,
promotional_mix, send_timing, csm_capacity, priority, deferral); :mod:`.engine` applies
them in precedence (``plan_calendar``) and :mod:`.sharding` reads and writes the warehouse
for the DAG tasks; :mod:`.bench` measures throughput.
"""
