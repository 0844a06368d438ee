"""Membership tests over id columns that stay fast when the member set is large."""

from __future__ import annotations

import numpy as np
import pandas as pd


def is_in(values, members) -> np.ndarray:
    """Whether each value is one of ``members``, as a bool array. Compares Python objects
    by hash, which stays fast for many members (pandas' Arrow-string ``isin`` converts the
    members one by one)."""
    members = list(members) if isinstance(members, set | frozenset) else members
    listed = np.asarray(members, dtype=object)
    return pd.Series(np.asarray(values, dtype=object)).isin(listed).to_numpy(dtype=bool)
