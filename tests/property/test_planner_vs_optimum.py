"""The planner against the exact optimum (OR-Tools CP-SAT, cadence.planner.exact) on random
small accounts: a few contacts, up to 12 candidates each over 14 days, sent history, every
rule that couples them (caps per channel and in all, the account cap, spacing, the
promotional gap and share). The planner keeps everything the optimum keeps in each
protected class and at least 99% of its (lexicographic) value; a failure prints the
instance."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence.contract.settings import INCLUDE_DIR
from cadence.planner.engine import plan_calendar
from cadence.planner.exact import AS_OF, kept_by_planner, optimum, random_accounts
from cadence.planner.priority import touch_classes
from cadence.policy import load_policy

POLICY = load_policy(INCLUDE_DIR / "config" / "policy.yml")
PROTECTED = POLICY.classes.protected()


def instance_text(candidates: pd.DataFrame, context) -> str:
    columns = ["touch_id", "channel", "message_type", "source", "priority", "earliest_at",
               "latest_at"]
    with pd.option_context("display.width", 200, "display.max_rows", 100):
        return (f"account: {context.accounts.to_dict('records')}\n"
                f"sent: {context.history[['contact_id', 'scheduled_at']].to_dict('records')}\n"
                f"{candidates[columns].to_string(index=False)}")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_planner_keeps_what_the_optimum_keeps_in_protected_classes(seed):
    candidates, context = random_accounts(1, seed)
    result = plan_calendar(candidates, context, POLICY, AS_OF)
    mine = kept_by_planner(candidates, result.decisions, POLICY)
    best = optimum(candidates, context, POLICY)
    instance = instance_text(candidates, context)
    for c, name in enumerate(POLICY.classes.names):
        if PROTECTED[c]:
            assert mine.by_class[c] >= best.by_class[c], (
                f"class {name}: planner kept {mine.by_class[c]}, optimum "
                f"{best.by_class[c]}\n{instance}\n{result.decisions.to_string()}")
    assert mine.total >= 0.99 * best.total, (
        f"planner {mine.by_class} vs optimum {best.by_class}\n{instance}")
    # Protected touches are never dropped: what does not fit is escalated.
    protected_rows = candidates["touch_id"][PROTECTED[touch_classes(candidates,
                                                                    POLICY.classes)]]
    outcomes = result.decisions.set_index("touch_id").loc[protected_rows, "decision"]
    assert "dropped" not in set(outcomes), instance
