"""The promotional/educational mix follows engagement: per tier segment, the promotional
share cap (rule 7) is the policy's cap scaled by how promotional mail opens compared with
educational mail, kept inside ``learning.mix`` bounds. A tier with too few delivered
messages of either type keeps the policy's cap."""

from __future__ import annotations

from datetime import date

import pandas as pd

from cadence.learning.policy import MixLearning

MIX_COLUMNS = ["tier", "promotional_delivered", "promotional_open_rate",
               "educational_delivered", "educational_open_rate", "policy_share",
               "learned_share", "as_of_date"]


def learn_mix(sent: pd.DataFrame, planner_policy, rules: MixLearning,
              as_of: date) -> pd.DataFrame:
    """One row per tier with enough promotional and educational deliveries (columns
    :data:`MIX_COLUMNS`)."""
    delivered = sent[(sent["delivered"] > 0)
                     & sent["message_type"].isin(["promotional", "educational"])]
    rates = (delivered.groupby(["tier", "message_type"])
             .agg(delivered=("touch_id", "size"), open_rate=("opened", "mean"))
             .unstack("message_type"))
    rows = []
    for tier, row in rates.iterrows():
        counts = {t: row.get(("delivered", t)) for t in ("promotional", "educational")}
        if any(pd.isna(n) or n < rules.min_delivered for n in counts.values()):
            continue
        promo, edu = row[("open_rate", "promotional")], row[("open_rate", "educational")]
        base = planner_policy.limits_for(str(tier)).promotional_max_share
        ratio = promo / edu if edu > 0 else 1.0
        learned = min(rules.max_share, max(rules.min_share, base * ratio))
        rows.append({"tier": str(tier), "promotional_delivered": int(counts["promotional"]),
                     "promotional_open_rate": round(float(promo), 4),
                     "educational_delivered": int(counts["educational"]),
                     "educational_open_rate": round(float(edu), 4),
                     "policy_share": base, "learned_share": round(float(learned), 4),
                     "as_of_date": as_of})
    return pd.DataFrame(rows, columns=MIX_COLUMNS)


def mix_overrides(mix: pd.DataFrame) -> dict:
    """The policy overrides that apply a learned mix: per tier's promotional_max_share."""
    if mix.empty:
        return {}
    return {"planner": {"tier_limits": {
        row.tier: {"promotional_max_share": float(row.learned_share)}
        for row in mix.itertuples(index=False)}}}
