"""The warehouse writes idempotently and reads back the same values on both dialects."""

from datetime import date

import pandas as pd
import pytest


def _frame(as_of: date) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["a1", "a2"],
            "as_of_date": [as_of, as_of],
            "score": [71.5, None],
            "opened_at": pd.to_datetime(
                ["2026-01-01T10:00:00Z", "2026-01-02T09:30:00+02:00"], utc=True
            ),
            "band": ["green", ""],
        }
    )


def test_replacing_a_partition_twice_leaves_one_copy(any_warehouse):
    day1, day2 = date(2026, 1, 1), date(2026, 1, 2)
    for _ in range(2):
        any_warehouse.write_frame("t_health", _frame(day1), replace_where={"as_of_date": day1})
    any_warehouse.write_frame("t_health", _frame(day2), replace_where={"as_of_date": day2})
    assert any_warehouse.count("t_health") == 4
    assert any_warehouse.count("t_health", {"as_of_date": day1}) == 2


def test_values_round_trip_with_nulls_empty_strings_and_utc(any_warehouse):
    any_warehouse.write_frame("t_health", _frame(date(2026, 1, 1)), replace_all=True)
    back = any_warehouse.read_frame("select * from t_health order by account_id")
    assert back["band"].tolist()[0] == "green"
    assert back["band"].tolist()[1] == ""  # an empty string is not a NULL
    assert pd.isna(back["score"].iloc[1])
    assert back["opened_at"].iloc[1] == pd.Timestamp("2026-01-02T07:30:00Z")


def test_identifiers_are_checked(warehouse):
    with pytest.raises(ValueError, match="not a valid warehouse identifier"):
        warehouse.write_frame("t; drop table x", _frame(date(2026, 1, 1)))


def test_the_embedded_warehouse_bounds_its_memory_as_the_operator_says(tmp_path):
    # DuckDB would otherwise cache up to 80% of the machine in the process running the tasks.
    from cadence.contract.settings import load_settings
    from cadence.contract.warehouse import connect

    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    warehouse = connect(load_settings({"CADENCE_WAREHOUSE_URL": url,
                                       "CADENCE_DUCKDB_MEMORY_LIMIT": "768MB"}))
    limit = warehouse.read_frame("select current_setting('memory_limit') as m")["m"][0]
    assert limit.replace(" ", "") in ("732.4MiB", "768.0MB")
    assert connect(load_settings({"CADENCE_WAREHOUSE_URL": url})).duckdb_memory_limit == "4GB"
    with pytest.raises(ValueError, match="CADENCE_DUCKDB_MEMORY_LIMIT='2GB; drop table x'"):
        load_settings({"CADENCE_DUCKDB_MEMORY_LIMIT": "2GB; drop table x"})
