"""Reading column-wise (``Warehouse.read_columns``, the Arrow path the CSM steps use on
DuckDB) gives the very frame ``read_frame`` gives: same values, dtypes and Python types."""

from __future__ import annotations

import pandas as pd


def _assert_same(expected: pd.DataFrame, got: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(expected, got, check_dtype=True, check_exact=True)
    for column in expected.columns:
        if expected[column].dtype == object:
            assert [type(v) for v in expected[column]] == [type(v) for v in got[column]], column
        if expected[column].dtype == "str":  # one Arrow chunk, as code splicing text expects
            assert got[column].array._pa_array.num_chunks == 1, column
        assert str(expected[column].dtype) == str(got[column].dtype), column


def test_read_columns_gives_read_frames_frame_with_nulls_dates_and_zones(bare_warehouse):
    bare_warehouse.execute(
        "create table t (id text, n bigint, n_null bigint, x double, flag boolean,"
        " flag_null boolean, day date, sent_at timestamptz, sent_null timestamptz, wall timestamp,"
        " note text, nothing text)")
    bare_warehouse.execute(
        "insert into t values"
        " ('a', 1, 5, 1.5, true, true, date '2026-11-23', timestamptz '2026-11-23 09:30:00+00',"
        "  null, timestamp '2026-11-23 10:00:00', 'ok', null),"
        " ('b', 2, null, null, false, null, null, timestamptz '2026-11-24 23:59:59.5+00',"
        "  null, null, null, null)")
    sql = "select * from t where id >= :low order by id"
    _assert_same(bare_warehouse.read_frame(sql, {"low": "a"}),
                 bare_warehouse.read_columns(sql, {"low": "a"}))
    # No rows: every column is an object column, as read_frame makes them.
    _assert_same(bare_warehouse.read_frame(sql, {"low": "z"}),
                 bare_warehouse.read_columns(sql, {"low": "z"}))


def test_a_long_text_column_is_read_as_one_arrow_array(bare_warehouse):
    # DuckDB hands a long result over in several chunks; the CSM levelling splices a text
    # column's Arrow buffers, which needs it in one piece.
    bare_warehouse.execute("create table t as select 'touch ' || i as reason"
                           " from range(300000) as r(i)")
    got = bare_warehouse.read_columns("select reason from t order by reason")
    assert got["reason"].array._pa_array.num_chunks == 1
    assert got["reason"].iloc[-1] == "touch 99999"
