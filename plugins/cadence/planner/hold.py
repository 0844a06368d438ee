"""Rule 0: held candidates. A candidate the proposing team has not released yet carries
a ``hold`` text (today: a campaign row awaiting approval while policy
``candidates.campaigns.require_approval`` is on). The planner decides it ``held`` before
any other rule, never places it and never counts it against caps or spacing; the detail
is the hold text, so the report and the calendar view show what it waits for instead of
the touch vanishing. Once the row is approved, the next night plans it like any other."""

from __future__ import annotations

import numpy as np
import pandas as pd

RULE = "0.hold"


def held(frame: pd.DataFrame) -> np.ndarray:
    """Per candidate: the hold text, or None for candidates free to plan."""
    if "hold" not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    hold = frame["hold"].to_numpy(dtype=object, copy=True)
    hold[pd.isna(hold) | (hold == "")] = None
    return hold
