"""The planner benchmark runs end to end on a tiny population and reports its figures."""

from __future__ import annotations

import pandas as pd

from cadence.devtools.planner_bench import planner_bench, synthetic_population


def test_synthetic_population_has_the_promised_shape():
    candidates, context = synthetic_population(5)
    assert len(context.accounts) == 5 and len(context.contacts) == 50
    assert len(candidates) == 1000 and candidates["touch_id"].is_unique
    assert set(candidates["channel"]) >= {"email", "in_app"}


def test_shards_concatenated_are_the_population_generated_at_once():
    whole, context = synthetic_population(120)
    shards = [synthetic_population(n, start=start) for start, n in [(0, 37), (37, 83)]]
    pd.testing.assert_frame_equal(
        pd.concat([candidates for candidates, _ in shards], ignore_index=True), whole)
    for name in ["accounts", "contacts", "history", "tickets", "segments", "csms"]:
        parts = pd.concat([getattr(c, name) for _, c in shards], ignore_index=True)
        if name == "csms":  # the CSM of accounts 0-49 serves both shards
            parts = parts.drop_duplicates(ignore_index=True)
        pd.testing.assert_frame_equal(parts, getattr(context, name), check_dtype=False)


def test_bench_reports_throughput_memory_and_lexsort_ratio(policy, capsys):
    # shards of 3 and 2, and 6 small accounts solved exactly
    figures = planner_bench(5, policy, shard_accounts=3, workers=2, optimum_accounts=6)
    assert figures["candidates"] == 1000 and figures["shards"] == 2
    assert figures["candidates_per_s"] > 0 and figures["candidates_per_cpu_s"] > 0
    assert figures["peak_memory_per_worker_mb"] > 0
    assert figures["peak_memory_total_mb"] == 2 * figures["peak_memory_per_worker_mb"]
    assert figures["ratio_wall_to_lexsort"] > 0 and figures["ratio_cpu_to_lexsort"] > 0
    assert sum(figures["decisions"].values()) == 1000
    assert figures["protected_dropped"] == 0
    assert 0.99 <= figures["value_vs_optimum"]["worst"] <= figures["value_vs_optimum"]["mean"]
    assert figures["accounts_short_of_optimum_in_a_protected_class"] == 0
    assert '"candidates_per_s"' in capsys.readouterr().out
