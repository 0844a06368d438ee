"""Files answer clearly: every way a source file can be unreadable names entity, file and
line or byte offset; other encodings are read when declared; a field of any size is read
and a too-long value quarantines its row instead of aborting the nightly."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from cadence.contract.entities import ENTITIES
from cadence.devtools.sample import write_sample
from cadence.policy import parse_policy
from cadence.quality import validate_sources
from cadence.sources import FilesSource, SourceContext, SourceError, extract_sources, read_entities

AS_OF = date(2026, 11, 23)
LOADED_AT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
CSMS_HEADER = "csm_id,name,email,timezone,weekly_capacity\n"


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sources")
    write_sample(out, accounts=12, seed=5, as_of=AS_OF)
    return out


@pytest.fixture
def own_copy(sample_dir, tmp_path):
    for path in sample_dir.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    return tmp_path


def _read(policy, folder):
    context = SourceContext(folder, warehouse=None, policy=policy, run_id="t",
                            loaded_at=LOADED_AT)
    return read_entities(context)


def test_a_zero_byte_file_names_entity_and_file(own_copy, policy):
    (own_copy / "contacts.csv").write_bytes(b"")
    with pytest.raises(SourceError) as raised:
        _read(policy, own_copy)
    message = str(raised.value)
    assert message.startswith("contacts: ")
    assert str(own_copy / "contacts.csv") in message and "0 bytes" in message


def test_a_header_only_file_is_an_entity_without_rows(own_copy, policy):
    (own_copy / "contacts.csv").write_text(",".join(ENTITIES["contacts"].column_names) + "\n")
    frames = _read(policy, own_copy)
    assert len(frames["contacts"]) == 0
    assert list(frames["contacts"].columns) == ENTITIES["contacts"].column_names


def test_a_latin1_byte_names_entity_file_line_and_offset(tmp_path):
    body = CSMS_HEADER + "csm-1,Ana Silva,ana@example.com,,20\n"
    (tmp_path / "csms.csv").write_bytes(body.encode() + "csm-2,José Souza,jo@example.com,,20\n"
                                        .encode("latin-1"))
    with pytest.raises(SourceError) as raised:
        FilesSource(tmp_path).read(ENTITIES["csms"])
    message = str(raised.value)
    offset = len(body.encode()) + len("csm-2,Jos")
    assert message.startswith("csms: ")
    assert str(tmp_path / "csms.csv") in message
    assert f"line 3 (byte offset {offset})" in message
    assert "0xe9" in message and "sources.encoding" in message


@pytest.mark.parametrize("setting", [{"encoding": "latin-1"}, {"encodings": {"csms": "cp1252"}}])
def test_a_declared_encoding_is_decoded(tmp_path, setting):
    (tmp_path / "csms.csv").write_bytes(
        (CSMS_HEADER + "csm-1,José Müller,jm@example.com,,20\n").encode("latin-1"))
    policy = parse_policy({"sources": setting})
    frame = FilesSource(tmp_path, policy.sources).read(ENTITIES["csms"])
    assert frame.loc[0, "name"] == "José Müller"


def test_an_unknown_encoding_fails_on_policy_load():
    from cadence.policy import PolicyError

    with pytest.raises(PolicyError, match=r"sources\.encodings\.csms: .*klingon"):
        parse_policy({"sources": {"encodings": {"csms": "klingon"}}})


def test_a_row_with_too_many_fields_names_its_line(tmp_path):
    (tmp_path / "csms.csv").write_text(CSMS_HEADER + "csm-1,Ana,ana@example.com,,20\n"
                                       "csm-2,Bo,bo@example.com,,20,extra\n"
                                       "csm-3,Cy,cy@example.com,,20\n")
    with pytest.raises(SourceError, match=r"csms: .*csms\.csv: 1 row\(s\) .* 5 fields"
                                          r" \(line 3 has 6 fields\)"):
        FilesSource(tmp_path).read(ENTITIES["csms"])


def test_line_breaks_inside_quoted_values_are_read(tmp_path):
    (tmp_path / "csms.csv").write_text(CSMS_HEADER + 'csm-1,"Ana\nSilva",ana@example.com,,20\n')
    assert FilesSource(tmp_path).read(ENTITIES["csms"]).loc[0, "name"] == "Ana\nSilva"


def test_a_damaged_parquet_file_names_entity_and_file(tmp_path):
    (tmp_path / "csms.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(SourceError, match=r"csms: .*csms\.parquet is not a readable Parquet"):
        FilesSource(tmp_path).read(ENTITIES["csms"])


def test_a_field_over_2_mb_is_read_and_its_row_quarantined(own_copy, warehouse):
    # The small sample's own dirty rows are over 5% of some entities: not this test's point.
    policy = parse_policy({"quality": {"reject_rate_threshold": 0.5}})
    contacts = pd.read_csv(own_copy / "contacts.csv", dtype=str)
    huge = "x" * (3 << 20)
    contacts.loc[1, "first_name"] = huge
    contacts.to_csv(own_copy / "contacts.csv", index=False)
    counts = extract_sources(warehouse, policy, own_copy, "run-1", LOADED_AT)
    assert counts["contacts"] == len(contacts)
    summary = validate_sources(warehouse, policy, "run-1", AS_OF)
    assert summary["contacts"]["rows"] == len(contacts)
    quarantine = warehouse.read_frame("select row, rule from quarantine where entity = 'contacts'")
    hit = quarantine[quarantine["rule"].str.contains("contacts.first_name: expect_column_value_"
                                                     "lengths_to_be_between")]
    assert len(hit) == 1
    assert json.loads(hit.iloc[0]["row"])["contact_id"] == contacts.loc[1, "contact_id"]


def test_a_wrongly_declared_encoding_names_entity_and_file(tmp_path):
    (tmp_path / "csms.csv").write_bytes(
        (CSMS_HEADER + "csm-1,José,jm@example.com,,20\n").encode("latin-1"))
    policy = parse_policy({"sources": {"encodings": {"csms": "utf-16"}}})
    with pytest.raises(SourceError, match=r"csms: .*csms\.csv byte offset 0: not utf-16"):
        FilesSource(tmp_path, policy.sources).read(ENTITIES["csms"])
