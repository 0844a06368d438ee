"""Membership tests over id columns that stay fast when the member set is large."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def is_in(values, members) -> np.ndarray:
    """Whether each value is one of ``members``, as a bool array (a missing value matches a
    missing member). Hashes in Arrow: pandas' string ``isin`` converts the members one by
    one, which dominates with hundreds of thousands of them."""
    values = _arrow(values)
    member_values = _arrow(list(members) if isinstance(members, set | frozenset) else members)
    if not len(values) or not len(member_values):
        return np.zeros(len(values), dtype=bool)
    if values.type == pa.null():  # no value present: only a missing member matches
        return np.full(len(values), member_values.null_count > 0)
    if member_values.type != values.type:
        member_values = member_values.cast(values.type)
    found = pc.is_in(values, value_set=member_values)
    return found.to_numpy(zero_copy_only=False).astype(bool)


def positions(values, keys) -> np.ndarray:
    """Position of each value among the unique ``keys``, -1 where it is not one of them."""
    values, key_values = _arrow(values), _arrow(keys)
    if not len(values) or not len(key_values) or values.type == pa.null():
        return np.full(len(values), -1, dtype=np.int64)
    if key_values.type != values.type:
        key_values = key_values.cast(values.type)
    found = pc.index_in(values, value_set=key_values)
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def strictly_increasing(values) -> bool:
    """Whether every value is present and greater than the one before (so sorted and
    unique), compared in Arrow: text by code points, like a sort of Python or Arrow
    strings."""
    try:
        array = _arrow(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):  # no order to check cheaply
        return False
    if array.null_count:
        return False
    if len(array) < 2:
        return True
    return bool(pc.all(pc.less(array[:-1], array[1:])).as_py())


def _arrow(values) -> pa.Array:
    # A pandas string column converts without copying; anything else through objects.
    if isinstance(values, pd.Series | pd.Index):
        return pa.array(values, from_pandas=True)
    return pa.array(np.asarray(values, dtype=object), from_pandas=True)
