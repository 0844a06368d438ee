"""The task of ``cadence_whatif`` (manual what-if replays)."""

from __future__ import annotations

from datetime import date, timedelta

from cadence.contract.settings import PROJECT_ROOT
from cadence.orchestration.runs import Run


def whatif(run: Run) -> dict:
    """Replay the params' date range under the policy and the scenario and compare them."""
    from pathlib import Path

    from cadence.learning.whatif import run_whatif

    params = run.params
    first = date.fromisoformat(params["from_date"]) if params.get("from_date") else run.as_of
    last = (date.fromisoformat(params["to_date"]) if params.get("to_date")
            else first + timedelta(days=6))
    path = params.get("policy_path")
    policy_file = None
    if path:
        policy_file = Path(path) if Path(path).is_absolute() else PROJECT_ROOT / path
    result = run_whatif(run.warehouse, run.policy, first, last, run.settings.out_dir,
                        policy_file=policy_file, overrides=params.get("overrides") or None)
    return {k: v for k, v in result.items() if k != "comparison"}
