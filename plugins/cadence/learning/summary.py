"""What the learning loop shows after a run, as text (the demo prints it): engagement
metrics, fatigue flags, learned send slots and mix, and each experiment's readout."""

from __future__ import annotations

from datetime import date

import pandas as pd

from cadence.contract.warehouse import Warehouse


def learning_summary(warehouse: Warehouse, as_of: date) -> str:
    """Text summary of the learning tables of ``as_of``."""
    lines = ["Engagement and learning"]

    def frame(sql: str) -> pd.DataFrame:
        return warehouse.read_frame(sql, {"d": as_of})

    if warehouse.table_exists("engagement_metrics"):
        m = frame("select sum(sent) as sent, sum(delivered) as delivered,"
                  " sum(open_rate * delivered) as opens, count(*) as n_rows"
                  " from engagement_metrics")
        row = m.iloc[0]
        rate = (row["opens"] / row["delivered"]) if row["delivered"] else 0
        lines.append(f"  engagement_metrics: {int(row['n_rows'] or 0)} rows, "
                     f"{int(row['sent'] or 0)} sent, {int(row['delivered'] or 0)} delivered, "
                     f"open rate {rate:.1%}")
    if warehouse.table_exists("engagement_flags"):
        n = frame("select count(*) as n from engagement_flags where as_of_date = :d")["n"][0]
        lines.append(f"  fatigue flags (lighter cadence) on {as_of}: {int(n)} contacts")
    if warehouse.table_exists("learned_send_slots"):
        slots = frame("select scope, count(*) as n from learned_send_slots"
                      " where as_of_date = :d group by scope order by scope")
        lines.append("  learned send slots: " + (", ".join(
            f"{r.n} {r.scope}" for r in slots.itertuples()) or "none"))
        example = frame("select reason from communication_calendar where plan_date = :d"
                        " and reason like '%learned from%' order by"
                        " case when reason like '%this contact%' then 0 else 1 end, touch_id"
                        " limit 1")
        if len(example):
            said = example["reason"][0].split("; ")[-1]
            lines.append(f'    e.g. "{said}"')
    if warehouse.table_exists("learned_mix"):
        mix = frame("select * from learned_mix where as_of_date = :d order by tier")
        lines.append("  learned promotional share (promotional vs educational opens):"
                     + ("" if len(mix) else " no tier with enough deliveries"))
        # The plan of the day ran under the learned share: its mix refusals name that limit.
        refusals = frame("select detail from calendar_decisions where plan_date = :d"
                         " and rule = '7.promotional_mix'")["detail"]
        for r in mix.itertuples():
            at_limit = int(refusals.str.contains(f"(limit {r.learned_share:.0%})",
                                                 regex=False).sum())
            lines.append(
                f"    {r.tier}: {r.policy_share:.0%} -> {r.learned_share:.0%} from engagement"
                f" (promotional opened {r.promotional_open_rate:.0%} of"
                f" {r.promotional_delivered}, educational {r.educational_open_rate:.0%} of"
                f" {r.educational_delivered}); the {as_of} plan ran under it"
                f" (mix refusals naming the {r.learned_share:.0%} limit: {at_limit})")
    if warehouse.table_exists("experiment_readout"):
        readout = frame("select * from experiment_readout where as_of_date = :d"
                        " and week_start = 'all weeks' and metric = 'open_rate'"
                        " order by experiment_id, arm")
        for experiment_id, rows in readout.groupby("experiment_id", sort=True):
            lines.append(f"  experiment {experiment_id} (open rate, all weeks so far):")
            for r in rows.itertuples():
                rate = "n/a" if pd.isna(r.rate) else (
                    f"{r.rate:.1%} [{r.ci_low:.1%}, {r.ci_high:.1%}]")
                test = "" if pd.isna(r.p_value) else f"  p={r.p_value:.3f}"
                warn = "" if r.enough_sample else "  (minimum sample not reached)"
                lines.append(f"    {r.arm:<16} {int(r.numerator):>5}/{int(r.denominator):<5}"
                             f" {rate}{test}{warn}")
    return "\n".join(lines)
