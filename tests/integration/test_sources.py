"""Files source and raw loads: every entity lands as text in raw_<entity>, bad files fail
with a message naming entity, file and column."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from cadence.contract.entities import ENTITIES, ENTITY_ORDER
from cadence.devtools.sample import write_sample
from cadence.policy import PolicyError, parse_policy
from cadence.sources import (
    FilesSource,
    SourceContext,
    SourceError,
    extract_sources,
    read_entities,
    register_source,
)

AS_OF = date(2026, 11, 23)
LOADED_AT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def _context(policy, source_dir) -> SourceContext:
    """The files source needs only the folder and the policy's routing."""
    return SourceContext(source_dir, warehouse=None, policy=policy, run_id="test",
                         loaded_at=datetime(2026, 11, 23, tzinfo=UTC))


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory):
    """Sample files of 25 accounts, shared read-only by the tests of this module."""
    out = tmp_path_factory.mktemp("sources")
    write_sample(out, accounts=25, seed=2, as_of=AS_OF)
    return out


@pytest.fixture
def own_copy(sample_dir, tmp_path):
    """A copy of the sample files a test may change."""
    for path in sample_dir.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    return tmp_path


def test_extract_loads_every_entity_as_text_and_replaces_on_rerun(any_warehouse, sample_dir,
                                                                   policy):
    counts = extract_sources(any_warehouse, policy, sample_dir, "run-1", LOADED_AT)
    assert list(counts) == list(ENTITY_ORDER)
    for name in ENTITY_ORDER:
        on_disk = pd.read_csv(sample_dir / f"{name}.csv", dtype=str)
        assert counts[name] == len(on_disk)
        raw = any_warehouse.read_table(f"raw_{name}")
        assert list(raw.columns) == [*ENTITIES[name].column_names, "_loaded_at", "_run_id"]
        assert set(raw["_run_id"]) == {"run-1"}
        assert pd.to_datetime(raw["_loaded_at"], utc=True).eq(pd.Timestamp(LOADED_AT)).all()
    accounts = any_warehouse.read_table("raw_accounts")
    expected = pd.read_csv(sample_dir / "accounts.csv", dtype=str)
    assert accounts["arr"].tolist() == expected["arr"].tolist()  # "1234.50" stays text
    counts_again = extract_sources(any_warehouse, policy, sample_dir, "run-2", LOADED_AT)
    assert counts_again == counts
    assert any_warehouse.count("raw_accounts") == counts["accounts"]
    assert set(any_warehouse.read_table("raw_accounts")["_run_id"]) == {"run-2"}


def test_empty_cells_are_null_and_ids_keep_leading_zeros(tmp_path):
    (tmp_path / "csms.csv").write_text(
        "csm_id,name,email,timezone,weekly_capacity\n007,Ana Silva,ana@example.com,,30\n")
    frame = FilesSource(tmp_path).read(ENTITIES["csms"])
    assert frame.loc[0, "csm_id"] == "007"
    assert pd.isna(frame.loc[0, "timezone"])
    assert frame.loc[0, "weekly_capacity"] == "30"


def test_a_header_only_file_is_an_empty_entity(tmp_path):
    (tmp_path / "suppressions.csv").write_text("email,contact_id,reason,scope,created_at\n")
    frame = FilesSource(tmp_path).read(ENTITIES["suppressions"])
    assert len(frame) == 0
    assert list(frame.columns) == ENTITIES["suppressions"].column_names


def test_missing_file_names_the_entity_and_the_file(own_copy, policy):
    (own_copy / "contacts.csv").unlink()
    with pytest.raises(SourceError, match=r"contacts: no source file contacts\.csv"):
        read_entities(_context(policy, own_copy))


def test_missing_required_column_names_entity_file_and_column(own_copy, policy):
    frame = pd.read_csv(own_copy / "contacts.csv", dtype=str).drop(columns="email")
    frame.to_csv(own_copy / "contacts.csv", index=False)
    with pytest.raises(SourceError) as error:
        read_entities(_context(policy, own_copy))
    message = str(error.value)
    assert "contacts" in message and "'email'" in message
    assert str(own_copy / "contacts.csv") in message


def test_missing_optional_column_is_loaded_as_null(own_copy, policy):
    frame = pd.read_csv(own_copy / "contacts.csv", dtype=str).drop(columns="locale")
    frame.to_csv(own_copy / "contacts.csv", index=False)
    contacts = read_entities(_context(policy, own_copy))["contacts"]
    assert contacts["locale"].isna().all()
    assert list(contacts.columns) == ENTITIES["contacts"].column_names


def test_a_folder_of_csv_and_parquet_files_is_one_entity(own_copy):
    usage = pd.read_csv(own_copy / "usage_daily.csv", dtype=str)
    (own_copy / "usage_daily.csv").unlink()
    folder = own_copy / "usage_daily"
    folder.mkdir()
    half = len(usage) // 2
    usage.iloc[:half].to_csv(folder / "part-1.csv", index=False)
    usage.iloc[half:].to_parquet(folder / "part-2.parquet", index=False)
    read = FilesSource(own_copy).read(ENTITIES["usage_daily"])
    pd.testing.assert_frame_equal(read, usage, check_dtype=False)


def test_policy_routes_an_entity_to_another_registered_source(sample_dir):
    class Crm:
        """A stand-in connector serving csms only."""

        def __init__(self, context):
            self.source_dir = context.source_dir

        def read(self, entity):
            return pd.DataFrame({"csm_id": ["crm-1"], "name": ["Rosa Costa"],
                                 "email": ["rosa@example.com"]})

    register_source("test_crm", Crm)
    policy = parse_policy({"sources": {"entities": {"csms": "test_crm"}}})
    frames = read_entities(_context(policy, sample_dir))
    assert frames["csms"]["csm_id"].tolist() == ["crm-1"]
    assert frames["csms"]["timezone"].isna().all()
    assert len(frames["accounts"]) == len(pd.read_csv(sample_dir / "accounts.csv"))


def test_unknown_source_or_entity_in_policy_fails_clearly(sample_dir):
    with pytest.raises(SourceError, match="unknown source 'nowhere'"):
        read_entities(_context(parse_policy({"sources": {"default": "nowhere"}}), sample_dir))
    with pytest.raises(PolicyError, match="sources.entities"):
        parse_policy({"sources": {"entities": {"acounts": "files"}}})
