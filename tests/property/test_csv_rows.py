"""The weekly CSVs are cut from one CSV text: every row comes out whole, whatever its
fields hold (quotes, commas, line breaks), as the csv module writes it alone."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from cadence.outputs.csm_task_files import csv_rows

FIELD = st.text(alphabet=st.sampled_from(['a', 'Z', ' ', ',', '"', '\n', '\r', "'", 'é', '|']),
                max_size=12)


def written(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


@given(st.lists(st.lists(FIELD, min_size=1, max_size=5), max_size=8))
def test_each_row_is_cut_whole(rows):
    assert csv_rows(written(rows)) == [written([row]) for row in rows]
