"""Rule 3: one touch per (contact, intent) inside the intent's window — candidates of the
same contact and intent whose windows overlap are one touch; the higher priority wins and
the others are recorded as merged, naming the winner."""

from __future__ import annotations

import numpy as np
import pandas as pd

RULE = "3.deduplication"


def duplicate_winners(contact: np.ndarray | pd.Series, intent: np.ndarray | pd.Series,
                      earliest_s: np.ndarray, latest_s: np.ndarray, rank: np.ndarray,
                      open_: np.ndarray) -> np.ndarray:
    """For each candidate the row of the touch it merges into, or -1 when it stays.

    Only ``open_`` candidates (not yet decided) take part; ``rank`` is the priority rank.
    A candidate missing its contact or intent merges with none.
    """
    n = len(contact)
    winner = np.full(n, -1, dtype=np.int64)
    rows = np.flatnonzero(open_)
    if len(rows) < 2:
        return winner
    group = _group_codes(contact, intent)[rows]
    order = _by_group(group, earliest_s[rows])
    g, start, end = group[order], earliest_s[rows][order], latest_s[rows][order]
    # A window overlapping the running end of its group joins the current cluster.
    running_end = _cummax_by_group(end, g)
    new_cluster = np.ones(len(order), dtype=bool)
    same = g[1:] == g[:-1]
    new_cluster[1:] = ~same | (start[1:] > running_end[:-1])
    members = rows[order]
    first = np.flatnonzero(new_cluster)
    best = np.minimum.reduceat(rank[members], first)[np.cumsum(new_cluster) - 1]
    by_rank = np.empty(n, dtype=np.int64)
    by_rank[rank] = np.arange(n)
    best_row = by_rank[best]
    losers = best_row != members
    winner[members[losers]] = best_row[losers]
    return winner


def _group_codes(contact: np.ndarray | pd.Series, intent: np.ndarray | pd.Series
                 ) -> np.ndarray:
    # One non-negative code per (contact, intent) pair; a row missing either is a group
    # of its own.
    contact_code, _ = pd.factorize(contact)
    intent_code, intents = pd.factorize(intent)
    code = contact_code.astype(np.int64) * (len(intents) + 1) + intent_code
    missing = (contact_code < 0) | (intent_code < 0)
    if missing.any():
        code[missing] = code.max() + 1 + np.arange(int(missing.sum()))
    return code


def _by_group(group: np.ndarray, value: np.ndarray) -> np.ndarray:
    # The order by group, then value, ties keeping row order: one stable argsort of a
    # combined int64 key (twice as fast as lexsort) unless the key would overflow.
    offset = value - value.min()
    span = int(offset.max()) + 1
    if int(group.max()) < np.iinfo(np.int64).max // span - 1:
        return np.argsort(group * span + offset, kind="stable")
    return np.lexsort((value, group))


def _cummax_by_group(value: np.ndarray, group: np.ndarray) -> np.ndarray:
    # Running maximum within each group; ``group`` is sorted ascending, so shifting each
    # group above the one before lets one cumulative maximum run over all of them.
    offset = value - value.min()
    span = int(offset.max()) + 1
    if int(group.max()) < np.iinfo(np.int64).max // span - 1:
        shift = group * span
        return np.maximum.accumulate(offset + shift) - shift + value.min()
    return pd.Series(value).groupby(group).cummax().to_numpy()
