"""Validation: every kind of broken row lands in quarantine with a rule naming its column,
clean rows flow on unchanged, reruns are idempotent and a high reject rate fails the run."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from cadence.contract.entities import ENTITIES, ENTITY_ORDER
from cadence.contract.schema import create_warehouse_tables
from cadence.contract.warehouse import Warehouse
from cadence.devtools.sample import generate_sample, write_sample
from cadence.policy import parse_policy
from cadence.quality import QualityError, validate_entities, validate_sources
from cadence.sources import extract_sources

AS_OF = date(2026, 11, 23)
ACCOUNTS, SEED, DIRTY = 60, 9, 0.1
LENIENT = parse_policy({"quality": {"reject_rate_threshold": 0.25}})

# entity, column, expectation: one per kind of dirty row the sample writes.
EXPECTED_RULES = [
    ("accounts", "name", "expect_column_values_to_not_be_null"),  # missing required
    ("accounts", "account_id", "expect_column_values_to_be_unique"),  # duplicate id
    ("accounts", "arr", "expect_column_values_to_be_between"),  # negative ARR
    ("accounts", "contract_start", "expect_column_values_to_match_regex"),  # bad date
    ("accounts", "timezone", "expect_column_values_to_be_in_set"),  # unknown timezone
    ("accounts", "country", "expect_column_values_to_be_in_set"),  # not ISO-3166
    ("contacts", "email", "expect_column_values_to_match_regex"),  # malformed email
    ("contacts", "email", "expect_column_values_to_not_be_null"),
    ("contacts", "contact_id", "expect_column_values_to_be_unique"),
    ("contacts", "timezone", "expect_column_values_to_be_in_set"),
    ("contacts", "account_id", "expect_column_values_to_be_in_set"),  # unknown account
    ("contacts", "updated_at", "expect_column_values_to_match_regex"),
    ("usage_daily", "usage_date", "expect_column_values_to_be_in_set"),  # 2026-02-30
    ("usage_daily", "active_users", "expect_column_values_to_be_between"),
    ("usage_daily", "account_id+usage_date+feature", "expect_compound_columns_to_be_unique"),
    ("support_tickets", "csat", "expect_column_values_to_be_between"),  # CSAT 7
    ("support_tickets", "opened_at", "expect_column_values_to_match_regex"),
    ("nps_responses", "score", "expect_column_values_to_be_between"),  # NPS 11
    ("nps_responses", "contact_id", "expect_column_values_to_be_in_set"),
    ("preferences", "frequency", "expect_column_values_to_be_in_set"),
    ("engagement_events", "occurred_at", "expect_column_values_to_be_in_set"),
]


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Sample files with 10% broken rows (enough for every kind in every entity)."""
    out = tmp_path_factory.mktemp("quality-sources")
    write_sample(out, accounts=ACCOUNTS, seed=SEED, as_of=AS_OF, dirty_rate=DIRTY)
    return out


@pytest.fixture(scope="module")
def validated(sources, tmp_path_factory):
    """A warehouse after one extract and validation of the sample, and its summary."""
    path = tmp_path_factory.mktemp("quality-wh") / "warehouse.duckdb"
    wh = Warehouse(f"duckdb:///{path}")
    create_warehouse_tables(wh)
    extract_sources(wh, LENIENT, sources, "run-1", datetime(2026, 11, 23, 1, tzinfo=UTC))
    summary = validate_sources(wh, LENIENT, "run-1", AS_OF)
    yield wh, summary
    wh.engine.dispose()


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype(object)
    return frame.where(frame.notna(), None)


def _rules(wh: Warehouse) -> pd.DataFrame:
    return wh.read_frame("select entity, rule, row from quarantine")


@pytest.mark.parametrize(("entity", "column", "expectation"), EXPECTED_RULES)
def test_each_kind_of_broken_row_is_quarantined_with_its_column(validated, entity, column,
                                                                 expectation):
    wh, _ = validated
    quarantine = _rules(wh)
    rules = quarantine.loc[quarantine["entity"] == entity, "rule"]
    assert rules.str.contains(f"{entity}.{column}: {expectation}", regex=False).any(), (
        sorted(set(rules)))


def test_clean_rows_all_pass_and_only_broken_rows_are_rejected(validated):
    wh, summary = validated
    clean = generate_sample(ACCOUNTS, SEED, AS_OF, dirty_rate=0.0)
    for name in ENTITY_ORDER:
        columns = ENTITIES[name].column_names
        passed = _as_text(wh.read_table(f"validated_{name}")[columns])
        expected = _as_text(clean[name][columns])
        # Same rows in the same (file) order: nothing clean was dropped or changed.
        pd.testing.assert_frame_equal(passed.reset_index(drop=True),
                                      expected.reset_index(drop=True), check_dtype=False)
        assert summary[name]["valid"] == len(clean[name])
        assert summary[name]["rows"] == summary[name]["valid"] + summary[name]["rejected"]
        assert summary[name]["rejected"] == round(DIRTY * len(clean[name]))


def test_quarantine_keeps_the_raw_row_once_with_all_its_rules(validated):
    wh, summary = validated
    quarantine = _rules(wh)
    assert len(quarantine) == sum(s["rejected"] for s in summary.values())
    rows = [json.loads(r) for r in quarantine.loc[quarantine["entity"] == "contacts", "row"]]
    assert all(list(r) == ENTITIES["contacts"].column_names for r in rows)
    # An unparseable timestamp breaks its format and calendar checks: one row, both rules.
    bad_dates = quarantine.loc[quarantine["row"].str.contains("last tuesday"), "rule"]
    assert len(bad_dates) >= 1
    assert (bad_dates.str.count("contacts.updated_at: ") == 2).all()


def test_the_first_of_duplicate_ids_stays_valid(validated):
    wh, _ = validated
    contacts = wh.read_table("validated_contacts")
    assert contacts["contact_id"].is_unique
    quarantine = _rules(wh)
    duplicates = quarantine[quarantine["rule"].str.contains("contact_id: expect_column_values"
                                                            "_to_be_unique", regex=False)]
    ids = {json.loads(r)["contact_id"] for r in duplicates["row"]}
    assert ids and ids <= set(contacts["contact_id"])


def test_validation_results_record_every_expectation(validated):
    wh, _ = validated
    results = wh.read_table("validation_results")
    assert set(results["entity"]) == set(ENTITY_ORDER)
    emails = results[(results["entity"] == "contacts") & (results["column_name"] == "email")]
    assert set(emails["expectation"]) >= {"expect_column_values_to_not_be_null",
                                          "expect_column_values_to_match_regex"}
    regex = emails[emails["expectation"] == "expect_column_values_to_match_regex"].iloc[0]
    assert not regex["success"] and regex["unexpected_count"] >= 1
    assert (results["element_count"] >= 0).all()


def test_rerun_of_the_same_date_leaves_identical_tables(validated):
    wh, summary = validated
    before = {t: _sorted(wh.read_table(t)) for t in
              ("quarantine", "validation_results", "validated_contacts", "validated_usage_daily")}
    assert validate_sources(wh, LENIENT, "run-1", AS_OF) == summary
    for table, frame in before.items():
        pd.testing.assert_frame_equal(_sorted(wh.read_table(table)), frame, obj=table)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns)[:4]).reset_index(drop=True)


def test_reject_rate_over_threshold_fails_after_writing_quarantine(any_warehouse, tmp_path):
    write_sample(tmp_path, accounts=15, seed=4, as_of=AS_OF, dirty_rate=0.1)
    strict = parse_policy({"quality": {"reject_rate_threshold": 0.05,
                                       "entity_thresholds": {"usage_daily": 0.5}}})
    extract_sources(any_warehouse, strict, tmp_path, "run-9", datetime(2026, 11, 23, tzinfo=UTC))
    with pytest.raises(QualityError) as error:
        validate_sources(any_warehouse, strict, "run-9", AS_OF)
    message = str(error.value)
    assert "contacts:" in message and "threshold 5.00%" in message
    assert "usage_daily" not in message  # its own threshold is 50%
    written = any_warehouse.read_frame(
        "select entity, count(*) as n from quarantine where as_of_date = :d group by entity",
        {"d": AS_OF})
    assert written.set_index("entity").loc["contacts", "n"] > 0


def _frame(entity: str, rows: list[dict]) -> pd.DataFrame:
    columns = ENTITIES[entity].column_names
    return pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=columns,
                        dtype=object)


def test_references_are_checked_against_validated_parents_and_suppressions_need_a_target():
    accounts = _frame("accounts", [
        {"account_id": "a1", "name": "Acme", "arr": "10.5", "contract_start": "2026-01-01",
         "renewal_date": "2027-01-01", "status": "active", "updated_at": "2026-11-01T10:00Z"},
        {"account_id": "a2", "name": "Bad", "arr": "ten", "contract_start": "2026-01-01",
         "renewal_date": "2027-01-01", "status": "active", "updated_at": "2026-11-01"},
    ])
    contacts = _frame("contacts", [
        {"contact_id": "c1", "account_id": "a1", "email": "ana@acme.example",
         "updated_at": "2026-11-01T10:00:00+02:00"},
        {"contact_id": "c2", "account_id": "a2", "email": "ben@bad.example",
         "updated_at": "2026-11-01T10:00:00Z"},
    ])
    suppressions = _frame("suppressions", [
        {"email": "ana@acme.example", "reason": "unsubscribe", "created_at": "2026-11-02"},
        {"contact_id": "c1", "reason": "erasure", "created_at": "2026-11-02T00:00:00Z"},
        {"reason": "bounce", "created_at": "2026-11-02T00:00:00Z"},
        {"email": "bounced@@example", "reason": "bounce", "created_at": "2026-11-02"},
    ])
    outcome = validate_entities({"accounts": accounts, "contacts": contacts,
                                 "suppressions": suppressions}, "run-x", AS_OF)
    assert outcome["accounts"].quarantine["rule"].tolist() == [
        "accounts.arr: expect_column_values_to_match_regex (number)"]
    # c2's account was rejected, so c2 has no valid parent.
    assert outcome["contacts"].valid["contact_id"].tolist() == ["c1"]
    assert outcome["contacts"].quarantine["rule"].tolist() == [
        "contacts.account_id: expect_column_values_to_be_in_set"
        " (references validated accounts.account_id)"]
    assert outcome["suppressions"].quarantine["rule"].tolist() == [
        "suppressions.email+contact_id: expect_column_values_to_not_be_null"
        " (email or contact_id required)",
        "suppressions.email: expect_column_values_to_match_regex (email address)",
    ]
    assert outcome["suppressions"].rate == 0.5


def test_campaign_with_an_audience_that_does_not_parse_is_rejected():
    good = {"campaign_id": "c1", "team": "marketing", "message_type": "educational",
            "channel": "email", "template_id": "tpl", "audience": "(smb or mid_market) and not "
            "at_risk", "window_start": "2026-11-23T00:00:00Z", "window_end": "2026-12-01",
            "approved": "true"}
    campaigns = _frame("campaigns", [good, {**good, "campaign_id": "c2", "audience": "smb or"},
                                     {**good, "campaign_id": "c3", "audience": "role:admin"}])
    outcome = validate_entities({"campaigns": campaigns}, "run-x", AS_OF)["campaigns"]
    assert outcome.valid["campaign_id"].tolist() == ["c1", "c3"]
    assert outcome.quarantine["rule"].tolist() == [
        "campaigns.audience: expect_column_values_to_be_in_set (audience expression parses)"]


def test_hourly_subset_checks_references_against_last_validated_parents(warehouse, tmp_path):
    write_sample(tmp_path, accounts=12, seed=6, as_of=AS_OF, dirty_rate=0.0)
    loaded = datetime(2026, 11, 23, tzinfo=UTC)
    extract_sources(warehouse, LENIENT, tmp_path, "nightly", loaded)
    full = validate_sources(warehouse, LENIENT, "nightly", AS_OF)
    consent = ("preferences", "suppressions")
    prefs = pd.read_csv(tmp_path / "preferences.csv", dtype=str)
    stray = prefs.iloc[[0]].assign(contact_id="con-gone")
    pd.concat([prefs, stray]).to_csv(tmp_path / "preferences.csv", index=False)
    counts = extract_sources(warehouse, LENIENT, tmp_path, "hourly", loaded, entities=consent)
    assert list(counts) == list(consent)
    hourly = validate_sources(warehouse, LENIENT, "hourly", AS_OF, entities=consent)
    assert list(hourly) == list(consent)
    assert hourly["preferences"]["valid"] == full["preferences"]["valid"]
    assert hourly["preferences"]["rejected"] == 1
    assert hourly["suppressions"] == full["suppressions"]
    assert warehouse.count("validated_contacts") == full["contacts"]["valid"]


def test_a_broken_value_rejects_every_row_holding_it_and_results_count_rows():
    """Checks of one column judge each distinct value once; the verdict reaches every row
    that holds the value, and validation_results counts rows, not values."""
    accounts = _frame("accounts", [
        {"account_id": "a1", "name": "Acme", "arr": "10", "contract_start": "2026-01-01",
         "renewal_date": "2027-01-01", "status": "active", "updated_at": "2026-11-01"}])
    day = {"account_id": "a1", "active_users": "3", "feature": "reports"}
    usage = _frame("usage_daily", [
        {**day, "usage_date": "2026-02-30"},  # no such day, twice
        {**day, "usage_date": "2026-02-30", "feature": "exports"},
        {**day, "usage_date": "2026-11-01"},
        {**day, "usage_date": "2026-11-01"},  # a duplicate key: the first row stays
        {**day, "usage_date": None, "active_users": "-1"},  # two rules, one row
        {**day, "usage_date": "2026-11-02", "account_id": "a9"},  # unknown account
    ])
    outcome = validate_entities({"accounts": accounts, "usage_daily": usage}, "run-x",
                                AS_OF)["usage_daily"]
    assert outcome.valid.index.tolist() == [0]
    assert outcome.valid[["usage_date"]].to_dict("records") == [{"usage_date": "2026-11-01"}]
    rules = [json.loads(r)["usage_date"] for r in outcome.quarantine["row"]]
    assert rules == ["2026-02-30", "2026-02-30", "2026-11-01", None, "2026-11-02"]
    assert outcome.quarantine["rule"].tolist() == [
        "usage_daily.usage_date: expect_column_values_to_be_in_set (valid calendar date)",
        "usage_daily.usage_date: expect_column_values_to_be_in_set (valid calendar date)",
        "usage_daily.account_id+usage_date+feature: expect_compound_columns_to_be_unique",
        "usage_daily.usage_date: expect_column_values_to_not_be_null; "
        "usage_daily.active_users: expect_column_values_to_be_between (>= 0)",
        "usage_daily.account_id: expect_column_values_to_be_in_set"
        " (references validated accounts.account_id)",
    ]
    counts = outcome.results.set_index("rule")[["element_count", "unexpected_count"]]
    assert counts.loc["usage_daily.usage_date: expect_column_values_to_be_in_set "
                      "(valid calendar date)"].tolist() == [6, 2]
    assert counts.loc["usage_daily.usage_date: expect_column_values_to_not_be_null"
                      ].tolist() == [6, 1]
    assert (counts["element_count"] == 6).all()
