"""Rule 0: held candidates. A candidate that candidate policy keeps back carries a
``hold`` text: a campaign row awaiting approval (while ``candidates.campaigns
.require_approval`` is on) or a touch a season lightens (``candidates.seasons``, action
skip). The planner decides it ``held`` before any other rule, never places it and never
counts it against caps or spacing; the detail is the hold text, so the report and the
calendar view show what it waits for instead of the touch vanishing. Once the row is
approved or the season is over, the next night plans it like any other."""

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
