"""The planner: one deduplicated communication calendar under every rule of DESIGN §8.

One module per rule (eligibility, deduplication, frequency_cap, spacing, conflicts,
promotional_mix, send_timing, csm_capacity, priority, deferral); :mod:`.engine` applies
them in precedence (``plan_calendar``) and :mod:`.sharding` reads and writes the warehouse
for the DAG tasks; :mod:`.bench` measures throughput.
"""

# The policy module defines the sections this package's policy builds on; loading it first
# keeps ``cadence.policy`` -> ``cadence.planner.policy`` -> ``cadence.policy`` acyclic.
import cadence.policy  # noqa: F401
