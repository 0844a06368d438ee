"""Memory a finished task (or a step between two large phases) leaves behind, handed back
(see :func:`cadence.orchestration.dag_defaults.releases_memory_after`)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc


def release_memory() -> None:
    """Close the warehouses the task opened (DuckDB frees its buffer cache with its last
    connection), collect garbage, and return freed heap pages to the system: glibc keeps
    them for the process otherwise, and pandas frames of millions of strings free many."""
    from cadence.contract.warehouse import close_opened_warehouses

    close_opened_warehouses()
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    # glibc only (Linux); elsewhere there is nothing to trim this way.
    name = ctypes.util.find_library("c")
    library = ctypes.CDLL(name) if name else None
    return getattr(library, "malloc_trim", None)
