"""Rule 3: one touch per (contact, intent) inside the intent's window — candidates of the
same contact and intent whose windows overlap are one touch; the higher priority wins and
the others are recorded as merged, naming the winner."""

from __future__ import annotations

import numpy as np
import pandas as pd

RULE = "3.deduplication"


def duplicate_winners(contact: np.ndarray, intent: np.ndarray, earliest_s: np.ndarray,
                      latest_s: np.ndarray, rank: np.ndarray, open_: np.ndarray) -> np.ndarray:
    """For each candidate the row of the touch it merges into, or -1 when it stays.

    Only ``open_`` candidates (not yet decided) take part; ``rank`` is the priority rank.
    """
    n = len(contact)
    winner = np.full(n, -1, dtype=np.int64)
    rows = np.flatnonzero(open_)
    if len(rows) < 2:
        return winner
    keys = pd.DataFrame({"contact": contact[rows], "intent": intent[rows]})
    group = keys.groupby(["contact", "intent"], sort=False).ngroup().to_numpy()
    order = np.lexsort((rows, earliest_s[rows], group))
    g, start, end = group[order], earliest_s[rows][order], latest_s[rows][order]
    # A window overlapping the running end of its group joins the current cluster.
    running_end = pd.Series(end).groupby(g).cummax().to_numpy()
    new_cluster = np.ones(len(order), dtype=bool)
    same = g[1:] == g[:-1]
    new_cluster[1:] = ~same | (start[1:] > running_end[:-1])
    cluster = np.cumsum(new_cluster)
    members = rows[order]
    best = pd.Series(rank[members]).groupby(cluster).transform("min").to_numpy()
    by_rank = np.empty(n, dtype=np.int64)
    by_rank[rank] = np.arange(n)
    best_row = by_rank[best]
    losers = best_row != members
    winner[members[losers]] = best_row[losers]
    return winner
