"""The weekly CSVs are cut from one CSV text: every row comes out whole, whatever its
fields hold (quotes, commas, line breaks), as the csv module writes it alone; and their
cells are neutralised the same column-wise as cell by cell."""

from __future__ import annotations

import csv
import io

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from cadence.outputs.csm_task_files import (
    FORMULA_STARTS,
    PHONE_NUMBER,
    csv_rows,
    neutralise,
    neutralise_text,
)

FIELD = st.text(alphabet=st.sampled_from(['a', 'Z', ' ', ',', '"', '\n', '\r', "'", 'é', '|']),
                max_size=12)


def written(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


@given(st.lists(st.lists(FIELD, min_size=1, max_size=5), max_size=8))
def test_each_row_is_cut_whole(rows):
    assert csv_rows(written(rows)) == [written([row]) for row in rows]


# Phone-number pieces, the formula starts and operators, ASCII look-alikes and line ends.
CELL = st.text(alphabet=st.sampled_from(list("+0123456789 ()-/.*=@,a;") + [
    "\t", "\r", "\n", "\u00a0", "\uff16", "\u0663"]), max_size=16)


@given(st.lists(st.one_of(st.none(), CELL, st.from_regex(PHONE_NUMBER, fullmatch=True)),
                max_size=8),
       st.sampled_from(["str", "string[python]", "string[pyarrow]"]))
def test_the_column_quotes_the_cells_the_cell_function_quotes(cells, dtype):
    """A text column is neutralised at once (pandas, pyarrow's regex engine), any other cell
    by ``neutralise`` (Python's re): the same cells get the quote. A formula start is left
    unquoted only on a plain phone number: "+" then digits, single spaces and brackets,
    nothing a spreadsheet computes."""
    column = neutralise_text(pd.Series(cells, dtype=dtype))
    assert [None if pd.isna(v) else v for v in column] == [neutralise(v) for v in cells]
    for cell in cells:
        if cell is not None and cell.startswith(FORMULA_STARTS) and neutralise(cell) == cell:
            assert cell[0] == "+" and set(cell[1:]) <= set("0123456789 ()"), cell
            assert "  " not in cell and not cell.endswith(" ")
