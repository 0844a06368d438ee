"""Usage from date-partitioned files and from a warehouse query, incremental with lookback."""

from __future__ import annotations

import json
from datetime import date, datetime

import pandas as pd
import pytest

from cadence.connectors.policy import UsagePolicy
from cadence.connectors.usage import UsageSource
from cadence.connectors.watermarks import get_watermark, reset_watermark
from cadence.contract.entities import ENTITIES
from cadence.sources.base import SourceError

USAGE = ENTITIES["usage_daily"]


def write_day(root, day: str, rows: list[dict], name="part-0.csv") -> None:
    folder = root / "usage_daily" / f"usage_date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows)
    if name.endswith(".parquet"):
        frame.to_parquet(folder / name)
    else:
        frame.to_csv(folder / name, index=False)


def source(warehouse, root, policy=None, run="r1", threshold=0.05):
    return UsageSource(warehouse, policy or UsagePolicy(lookback_days=2), root, run,
                       datetime.fromisoformat("2026-11-20T02:00:00+00:00"), threshold)


def test_incremental_files_load_picks_up_late_rows_within_the_lookback(warehouse, tmp_path):
    for day in ("2026-11-01", "2026-11-10", "2026-11-11"):
        write_day(tmp_path, day, [{"account_id": "a1", "active_users": 3, "logins": 5}])
    write_day(tmp_path, "2026-11-12", [{"account_id": "a2", "active_users": 7}],
              "part-0.parquet")
    first = source(warehouse, tmp_path).read(USAGE)
    assert len(first) == 4 and get_watermark(warehouse, "usage", "usage_daily") == "2026-11-12"
    assert first.set_index("usage_date").loc["2026-11-12", "active_users"] == "7"

    # A late row for the 11th (inside the 2-day lookback), a new day, and a change to the
    # 1st that is outside the lookback and therefore not re-read.
    write_day(tmp_path, "2026-11-11", [{"account_id": "a9", "active_users": 1}], "late.csv")
    write_day(tmp_path, "2026-11-13", [{"account_id": "a1", "active_users": 4}])
    write_day(tmp_path, "2026-11-01", [{"account_id": "zz", "active_users": 1}], "late.csv")
    second = source(warehouse, tmp_path, run="r2").read(USAGE)

    assert sorted(zip(second["usage_date"], second["account_id"], strict=True)) == [
        ("2026-11-01", "a1"), ("2026-11-10", "a1"), ("2026-11-11", "a1"),
        ("2026-11-11", "a9"), ("2026-11-12", "a2"), ("2026-11-13", "a1")]
    assert get_watermark(warehouse, "usage", "usage_daily") == "2026-11-13"

    reset_watermark(warehouse, "usage", "usage_daily", None)
    assert len(source(warehouse, tmp_path, run="r3").read(USAGE)) == 7


def test_rows_without_account_or_with_a_bad_date_are_quarantined(warehouse, tmp_path):
    write_day(tmp_path, "2026-11-10", [
        {"account_id": "a1", "active_users": 3, "usage_date": "2026-11-10"},
        {"account_id": None, "active_users": 3, "usage_date": "2026-11-10"},
        {"account_id": "a2", "active_users": 3, "usage_date": "yesterday"},
    ])
    with pytest.raises(SourceError, match="2 of 3"):
        source(warehouse, tmp_path).read(USAGE)
    rows = source(warehouse, tmp_path, run="r2", threshold=0.7).read(USAGE)
    assert rows["account_id"].tolist() == ["a1"]
    quarantine = warehouse.read_table("quarantine")
    assert sorted(quarantine["rule"]) == ["account_id is missing",
                                          "usage_date 'yesterday' is not a date or timestamp"]
    assert {json.loads(r)["active_users"] for r in quarantine["row"]} == {"3"}
    assert None in {json.loads(r)["account_id"] for r in quarantine["row"]}


def test_warehouse_query_binds_since(any_warehouse, tmp_path):
    warehouse = any_warehouse
    days = [date(2026, 11, d) for d in (1, 5, 9)]
    warehouse.write_frame("product_events_daily", pd.DataFrame({
        "account": ["a1", "a1", "a2"], "day": days, "users": [2, 3, 4],
        "feature_name": [None, "reports", None]}), replace_all=True)
    policy = UsagePolicy(mode="warehouse", lookback_days=3, query=(
        "select account as account_id, day as usage_date, users as active_users,"
        " feature_name as feature from product_events_daily where day >= :since"))
    assert len(source(warehouse, tmp_path, policy).read(USAGE)) == 3
    warehouse.write_frame("product_events_daily", pd.DataFrame({
        "account": ["a2"], "day": [date(2026, 11, 7)], "users": [9],
        "feature_name": [None]}), replace_where={"day": date(2026, 11, 7)})
    rows = source(warehouse, tmp_path, policy, run="r2").read(USAGE)
    assert sorted(rows["usage_date"]) == ["2026-11-01", "2026-11-05", "2026-11-07",
                                          "2026-11-09"]
    assert rows.set_index("usage_date").loc["2026-11-07", "active_users"] == "9"


def test_a_misnamed_partition_folder_fails_clearly(warehouse, tmp_path):
    (tmp_path / "usage_daily" / "2026-11-10").mkdir(parents=True)
    with pytest.raises(SourceError, match="usage_date=YYYY-MM-DD"):
        source(warehouse, tmp_path).read(USAGE)
