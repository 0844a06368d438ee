"""The planner benchmark runs end to end on a tiny population and reports its figures."""

from __future__ import annotations

from cadence.planner.bench import planner_bench, synthetic_population


def test_synthetic_population_has_the_promised_shape():
    candidates, context = synthetic_population(5)
    assert len(context.accounts) == 5 and len(context.contacts) == 50
    assert len(candidates) == 1000 and candidates["touch_id"].is_unique
    assert set(candidates["channel"]) >= {"email", "in_app"}


def test_bench_reports_throughput_memory_and_lexsort_ratio(policy, capsys):
    figures = planner_bench(5, policy)
    assert figures["candidates"] == 1000
    assert figures["candidates_per_s"] > 0 and figures["peak_memory_mb"] > 0
    assert figures["ratio_to_lexsort"] > 0
    assert sum(figures["decisions"].values()) == 1000
    assert '"candidates_per_s"' in capsys.readouterr().out
