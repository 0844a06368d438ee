"""Erasure is erasure (issue 11, point 3): after an erasure request, no table of the
warehouse and no file under CADENCE_OUT_DIR holds the contact's e-mail or name, the proof
is logged without them, and later loads stay pseudonymised."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from icalendar import Calendar, Event

from cadence.contract.erased_contacts import email_sha256
from cadence.privacy.erasure import ErasureError, apply_erasures, text_columns
from cadence.sources import extract_sources
from tests.integration.handoff_fixtures import at, seed_calendar, seed_people, touch

NOW = datetime(2026, 11, 23, 10, 5, tzinfo=UTC)
EMAIL = "Zoe.Quillfeather@Example.com"
FIRST, LAST = "Zoë", "Quillfeather"
NEEDLES = ("zoe.quillfeather", "zoë", "zo\\u00eb", "quillfeather")


def hits(warehouse, out_dir: Path, needles=NEEDLES) -> list[str]:
    """Every table cell (any type, as text) and every file under ``out_dir`` (iCalendar
    unfolded) holding a needle, case-insensitively; independent of how erasure works."""
    found = []
    tables = warehouse.read_frame(
        "select table_name from information_schema.tables"
        " where table_schema = current_schema()")["table_name"]
    for table in tables:
        frame = warehouse.read_frame(f'select * from "{table}"')
        for column in frame.columns:
            text = frame[column].astype(str).str.lower()
            for needle in needles:
                n = int(text.str.contains(needle, regex=False).sum())
                if n:
                    found.append(f"{table}.{column}: {n} x {needle}")
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", "replace").replace("\r\n ", "")
        text = text.replace("\n ", "").lower()
        found += [f"{path.relative_to(out_dir)}: {n}" for n in needles if n in text]
    return found


def _seed(warehouse, out_dir: Path) -> None:
    """The victim c1 (and bystanders c2, c3) wherever cadence and later steps put people."""
    seed_people(warehouse)
    people = warehouse.read_table("stg_contacts")
    people.loc[people["contact_id"] == "c1", ["email", "first_name", "last_name"]] = [
        EMAIL, FIRST, LAST]
    warehouse.write_frame("stg_contacts", people, replace_all=True)
    warehouse.write_frame("raw_contacts", people.astype(str), replace_all=True)
    warehouse.write_frame("validated_contacts", people.astype(str), replace_all=True)
    victim = {"contact_id": "c1", "account_id": "a1", "email": " " + EMAIL.upper(),
              "first_name": FIRST, "last_name": LAST}
    warehouse.write_frame("quarantine", pd.DataFrame({
        "entity": ["contacts", "nps_responses", "contacts", "contacts"],
        "row": [json.dumps(victim, ensure_ascii=False),
                json.dumps({**victim, "email": "zoe.quillfeather at example dot com"}),
                json.dumps({"response_id": "n9", "contact_id": "c1", "score": "11",
                            "comment": "honestly the best, Zoë"}),
                json.dumps({"contact_id": "c2", "first_name": "Firstc2", "email": "bad"})],
        "rule": ["contacts.contact_id: expect_column_values_to_be_unique",
                 "contacts.email: expect_column_values_to_match_regex",
                 "nps_responses.score: expect_column_values_to_be_between",
                 "contacts.email: expect_column_values_to_match_regex"],
        "run_id": "r0", "as_of_date": NOW.date()}))
    warehouse.write_frame("stg_nps_responses", pd.DataFrame({
        "response_id": ["n1", "n2"], "contact_id": ["c1", "c2"], "score": [9, 3],
        "comment": ["Quillfeather family loves it", "c2 is unhappy"]}))
    seed_calendar(warehouse, [touch("t1", "c1", at("10:30"), first_name=FIRST),
                              touch("t2", "c2", at("10:30"), first_name="Firstc2")])
    message = {"touch_id": "t1", "contact_id": "c1", "email": EMAIL.lower(),
               "data": {"first_name": FIRST, "last_name": LAST, "company": "Acme"}}
    warehouse.write_frame("deliveries", pd.DataFrame({
        "touch_id": ["t1"], "batch_id": ["b1"], "provider": ["outbox"], "status": ["sent"],
        "message": [json.dumps(message)]}))  # ASCII JSON: Zo\u00eb
    # a table another engineer adds later, with its own column names
    warehouse.write_frame("csm_task_contacts", pd.DataFrame({
        "task_id": ["k1", "k2"], "contact_id": ["c1", "c2"],
        "contact_name": [f"{FIRST} {LAST}", "Firstc2 Doe"],
        "contact_email": [EMAIL, "c2@example.com"],
        "talking_points": [f"Ask {FIRST} about the rollout", "Ask Firstc2 about seats"]}))
    # rows that only mention the person: one address, two, and a JSON contact id
    warehouse.write_frame("support_notes", pd.DataFrame({
        "note_id": ["s1", "s2", "s3", "s4"],
        "note": [f"Reply to {EMAIL.upper()} today", f"cc c2@example.com and {EMAIL}",
                 '{"contact_id": "c1", "topic": "seats"}', "nothing about anyone"]}))
    warehouse.write_frame("stg_suppressions", pd.DataFrame({
        "email": [f"  {EMAIL} "], "contact_id": [None], "reason": ["erasure"],
        "scope": ["all"], "created_at": [pd.Timestamp(at("09:00"))]}).astype(
            {"email": object, "contact_id": object}))

    outbox = out_dir / "outbox" / "2026-11-23"
    outbox.mkdir(parents=True)
    (outbox / "b1.jsonl").write_text(json.dumps({"batch_id": "b1", **message}) + "\n"
                                     + json.dumps({"touch_id": "t2", "contact_id": "c2",
                                                   "data": {"first_name": "Firstc2"}}) + "\n")
    lists = out_dir / "csm_tasks" / "2026-11-23" / "s1"
    lists.mkdir(parents=True)
    pd.DataFrame({"task_id": ["k1", "k2"], "contact_id": ["c1", "c2"],
                  "contact": [f"{FIRST} {LAST} <{EMAIL}>", "Firstc2 Doe"],
                  "context": [f"Renewal in 30 days\nAsk {FIRST} about seats", "Ask Firstc2"]}
                 ).to_csv(lists / "2026-11-24.csv", index=False)
    calendar = Calendar()
    calendar.add("prodid", "-//cadence//test//")
    calendar.add("version", "2.0")
    for uid, who, mail in (("k1", f"{FIRST} {LAST}", EMAIL), ("k2", "Firstc2 Doe", "c2@x.io")):
        event = Event()
        event.add("uid", uid)
        event.add("summary", f"Call {who}")
        event.add("description", "A long description that the iCalendar writer folds over "
                  f"several lines, so a naive scan misses it: contact {who}, {mail}")
        calendar.add_component(event)
    (lists / "2026-11-24.ics").write_bytes(calendar.to_ical())
    reports = out_dir / "reports"
    reports.mkdir()
    (reports / "notes.html").write_text(f"<p>{FIRST} {LAST} &lt;{EMAIL}&gt;</p>")


def test_erasure_leaves_no_email_or_name_in_any_table_or_file(any_warehouse, tmp_path):
    warehouse, out_dir = any_warehouse, tmp_path / "out"
    _seed(warehouse, out_dir)
    assert len(hits(warehouse, out_dir)) > 10  # the scan sees the victim everywhere first

    result = apply_erasures(warehouse, out_dir, NOW, "hourly_1")
    assert result == {"erasure_requests": 1}
    assert hits(warehouse, out_dir) == []

    # bystanders keep their data
    tasks = warehouse.read_table("csm_task_contacts").set_index("contact_id")
    assert tasks.loc["c2", "contact_name"] == "Firstc2 Doe"
    assert tasks.loc["c1", "talking_points"] == "Ask [erased] about the rollout"
    assert "Firstc2" in (out_dir / "csm_tasks/2026-11-23/s1/2026-11-24.csv").read_text()
    assert warehouse.read_table("stg_nps_responses").set_index("response_id").loc[
        "n2", "comment"] == "c2 is unhappy"
    # the victim's rows stay (counts, history) with pseudonyms
    staged = warehouse.read_table("stg_contacts").set_index("contact_id").loc["c1"]
    assert staged["email"].endswith("@erased.invalid") and staged["first_name"] == "[erased]"
    ics = Calendar.from_ical((out_dir / "csm_tasks/2026-11-23/s1/2026-11-24.ics").read_bytes())
    assert len(list(ics.walk("VEVENT"))) == 2  # still a valid calendar

    proof = warehouse.read_table("erasure_log")
    assert len(proof) == 1
    row = proof.iloc[0]
    assert row["email_sha256"] == email_sha256(EMAIL) and row["contact_id"] == "c1"
    assert "stg_contacts (1 rows)" in row["tables"] and "deliveries" in row["tables"]
    assert "csm_task_contacts" in row["tables"] and "quarantine (3 rows)" in row["tables"]
    assert "support_notes (3 rows)" in row["tables"]  # each mention found, the JSON id too
    notes = warehouse.read_table("support_notes").set_index("note_id").sort_index()["note"]
    pseudonym = staged["email"]
    assert notes.tolist() == [f"Reply to {pseudonym} today", f"cc c2@example.com and {pseudonym}",
                              '{"contact_id": "c1", "topic": "seats"}', "nothing about anyone"]
    assert set(row["files"].splitlines()) == {
        "outbox/2026-11-23/b1.jsonl", "csm_tasks/2026-11-23/s1/2026-11-24.csv",
        "csm_tasks/2026-11-23/s1/2026-11-24.ics", "reports/notes.html"}
    # the erased contact can never be sent to again, whatever the sources say later
    consent = warehouse.read_table("consent_suppressions")
    assert ((consent["contact_id"] == "c1") & (consent["reason"] == "erasure")).any()

    assert apply_erasures(warehouse, out_dir, NOW, "hourly_2") == {"erasure_requests": 0}
    assert len(warehouse.read_table("erasure_log")) == 1


def test_an_erasure_stays_applied_when_the_crm_sends_the_contact_again(warehouse, policy,
                                                                      tmp_path):
    out_dir, sources = tmp_path / "out", tmp_path / "sources"
    _seed(warehouse, out_dir)
    apply_erasures(warehouse, out_dir, NOW, "hourly_1")
    sources.mkdir()
    pd.DataFrame([{"contact_id": "c1", "account_id": "a1", "email": EMAIL,
                   "first_name": FIRST, "last_name": LAST, "updated_at": "2026-11-23"},
                  {"contact_id": "c9", "account_id": "a1", "email": EMAIL.lower(),
                   "first_name": FIRST, "last_name": LAST, "updated_at": "2026-11-23"},
                  {"contact_id": "c2", "account_id": "a1", "email": "c2@example.com",
                   "first_name": "Firstc2", "last_name": "Doe", "updated_at": "2026-11-23"}]
                 ).to_csv(sources / "contacts.csv", index=False)
    pd.DataFrame([{"response_id": "n1", "contact_id": "c1", "score": "9",
                   "responded_at": "2026-11-20", "comment": "Zoë says hi"}]
                 ).to_csv(sources / "nps_responses.csv", index=False)
    pd.DataFrame([{"email": EMAIL, "reason": "erasure", "created_at": "2026-11-23T09:00:00Z"},
                  {"contact_id": "c1", "reason": "erasure", "created_at": "2026-11-23T09:00:00Z"}]
                 ).to_csv(sources / "suppressions.csv", index=False)
    extract_sources(warehouse, policy, sources, "nightly_2", NOW,
                    entities=["contacts", "nps_responses", "suppressions"])
    assert hits(warehouse, out_dir) == []
    raw = warehouse.read_table("raw_contacts").set_index("contact_id")
    # the same address under a new id is the same person: pseudonymised as well
    assert raw.loc["c9", "email"] == raw.loc["c1", "email"]
    assert raw.loc["c9", "email"].endswith("@erased.invalid")
    assert raw.loc["c2", "first_name"] == "Firstc2"


def test_the_scan_covers_every_text_table(warehouse, tmp_path):
    """Erasure discovers tables from information_schema, not from a list."""
    _seed(warehouse, tmp_path / "out")
    tables = text_columns(warehouse)
    assert {"csm_task_contacts", "quarantine", "deliveries", "stg_contacts"} <= set(tables)
    assert "contact_name" in tables["csm_task_contacts"]


def test_a_binary_file_holding_the_address_stops_the_erasure_by_name(warehouse, tmp_path):
    out_dir = tmp_path / "out"
    _seed(warehouse, out_dir)
    (out_dir / "reports" / "export.bin").write_bytes(b"\xff\xfe" + EMAIL.lower().encode())
    with pytest.raises(ErasureError, match="export.bin: not UTF-8 text"):
        apply_erasures(warehouse, out_dir, NOW, "hourly_1")
    assert warehouse.count("erasure_log") == 0  # never logged as done
    # the operator removes the export: the next run still knows whom to erase
    (out_dir / "reports" / "export.bin").unlink()
    assert apply_erasures(warehouse, out_dir, NOW, "hourly_2") == {"erasure_requests": 1}
    assert hits(warehouse, out_dir) == []


def test_many_requests_in_one_run_are_all_carried_out_and_logged(any_warehouse, tmp_path):
    """A night with many requests erases and logs each of them in the one run; a file that
    cannot be pseudonymised stops only the request it holds, by name."""
    warehouse, out_dir = any_warehouse, tmp_path / "out"
    seed_people(warehouse, contacts=30)
    erased = [f"c{i}" for i in range(1, 21)]
    warehouse.write_frame("stg_suppressions", pd.DataFrame({
        "email": [f"{c}@example.com" if n % 2 else None for n, c in enumerate(erased)],
        "contact_id": [None if n % 2 else c for n, c in enumerate(erased)],
        "reason": "erasure", "scope": "all",
        "created_at": pd.Timestamp(at("09:00"))}).astype({"email": object,
                                                          "contact_id": object}))
    (out_dir / "outbox").mkdir(parents=True)
    (out_dir / "outbox" / "b1.jsonl").write_text("".join(
        json.dumps({"contact_id": f"c{i}", "email": f"c{i}@example.com",
                    "data": {"first_name": f"Firstc{i}"}}) + "\n" for i in range(1, 31)))
    (out_dir / "export.bin").write_bytes(b"\xff\xfe c20@example.com")

    with pytest.raises(ErasureError, match="export.bin: not UTF-8 text"):
        apply_erasures(warehouse, out_dir, NOW, "nightly_1")
    proof = warehouse.read_table("erasure_log")
    assert sorted(proof["contact_id"], key=lambda c: int(c[1:])) == erased[:-1]
    assert proof["email_sha256"].tolist() == [email_sha256(f"{c}@example.com")
                                              for c in proof["contact_id"]]
    contacts = warehouse.read_table("stg_contacts").set_index("contact_id")
    assert contacts.loc[erased[:-1], "email"].str.endswith("@erased.invalid").all()
    assert (contacts.loc[erased[:-1], "first_name"] == "[erased]").all()
    assert contacts.loc["c20", "email"] == "c20@Example.com"  # stopped, not half done
    assert contacts.loc["c21", "first_name"] == "Firstc21"  # bystanders untouched
    lines = [json.loads(x) for x in (out_dir / "outbox/b1.jsonl").read_text().splitlines()]
    # export.bin is read first, so c20 is left alone in the files after it
    assert [line["email"] for line in lines[19:]] == [f"c{i}@example.com" for i in range(20, 31)]
    assert all(line["email"].endswith("@erased.invalid") for line in lines[:19])

    (out_dir / "export.bin").unlink()
    assert apply_erasures(warehouse, out_dir, NOW, "nightly_2") == {"erasure_requests": 1}
    assert apply_erasures(warehouse, out_dir, NOW, "nightly_3") == {"erasure_requests": 0}
    assert len(warehouse.read_table("erasure_log")) == 20
    assert hits(warehouse, out_dir, [f"c{i}@example.com" for i in range(1, 21)]) == []


def test_a_row_naming_several_erased_people_loses_each_of_them(any_warehouse, tmp_path):
    """Erased people who share a row (a note about several of them, one of them known by
    two contacts and so by every pairing of their names) are each erased from it, one
    after the other; the rest of the row and rows about others stay as they were."""
    warehouse, out_dir = any_warehouse, tmp_path / "out"
    seed_people(warehouse, contacts=5)
    contacts = warehouse.read_table("stg_contacts")
    contacts.loc[contacts["contact_id"] == "c3", ["email", "last_name"]] = ["c2@Example.com",
                                                                             "Roe"]
    warehouse.write_frame("stg_contacts", contacts, replace_all=True)
    warehouse.write_frame("csm_notes", pd.DataFrame({
        "note_id": ["n1", "n2", "n3"],
        "note": ["Met Firstc1 Doe and Firstc3 Doe, then FIRSTC2 Roe (c2@example.COM)",
                 "Firstc4 Doe asked about Firstc2 Roe", "Firstc5 Doe"],
        "who": ["s1", "Firstc1", "Firstc4"], "surname": ["x", "Doe", "Doe"]}))
    warehouse.write_frame("stg_suppressions", pd.DataFrame({
        "email": [None, "c2@example.com"], "contact_id": ["c1", None], "reason": "erasure",
        "scope": "all", "created_at": pd.Timestamp(at("09:00"))}).astype(
            {"email": object, "contact_id": object}))

    assert apply_erasures(warehouse, out_dir, NOW, "nightly_1") == {"erasure_requests": 2}
    notes = warehouse.read_table("csm_notes").set_index("note_id")
    pseudonym = warehouse.read_table("stg_contacts").set_index("contact_id").loc["c2", "email"]
    assert pseudonym.endswith("@erased.invalid")
    assert notes.loc["n1", "note"] == f"Met [erased] and [erased], then [erased] ({pseudonym})"
    assert notes.loc["n2"].tolist() == ["Firstc4 Doe asked about [erased]", "Firstc1", "Doe"]
    assert notes.loc["n3"].tolist() == ["Firstc5 Doe", "Firstc4", "Doe"]
    assert hits(warehouse, out_dir, ["firstc1 doe", "firstc2", "firstc3", "c2@example"]) == []


def test_a_junk_address_or_a_shared_name_erases_no_one_else(any_warehouse, tmp_path):
    """One person's erasure stays theirs: a junk address the CRM gave many contacts
    (``bounced@@example``, quarantined) does not widen it to every contact holding it, and
    a CSM or another contact who shares the full name keeps it in their own name columns,
    while a comment that mentions the person loses the name."""
    warehouse, out_dir = any_warehouse, tmp_path / "out"
    seed_people(warehouse, contacts=4)
    contacts = warehouse.read_table("stg_contacts")
    contacts.loc[contacts["contact_id"] == "c1", ["first_name", "last_name"]] = ["Felix",
                                                                               "Moreau"]
    warehouse.write_frame("stg_contacts", contacts, replace_all=True)
    raw = contacts.astype(str)
    raw["email"] = ["bounced@@example", "bounced@@example", "bounced@@example",
                    "c4@Example.com"]
    warehouse.write_frame("raw_contacts", raw, replace_all=True)
    warehouse.write_frame("stg_csms", pd.DataFrame({
        "csm_id": ["s1", "s2"], "name": ["Felix Moreau", "Sam CSM"],
        "email": ["felix@vendor.example", "sam@vendor.example"]}), replace_all=True)
    warehouse.write_frame("stg_nps_responses", pd.DataFrame({
        "response_id": ["n1", "n2"], "contact_id": ["c2", "c3"], "score": [9, 3],
        "comment": ["Felix Moreau set it up for us", "slow"]}))
    warehouse.write_frame("stg_suppressions", pd.DataFrame({
        "email": [None], "contact_id": ["c1"], "reason": ["erasure"], "scope": ["all"],
        "created_at": [pd.Timestamp(at("09:00"))]}).astype({"email": object}))

    assert apply_erasures(warehouse, out_dir, NOW, "nightly_1") == {"erasure_requests": 1}
    proof = warehouse.read_table("erasure_log")
    assert proof["contact_id"].tolist() == ["c1"]
    raw = warehouse.read_table("raw_contacts").set_index("contact_id")
    assert raw.loc["c1", "email"].endswith("@erased.invalid")
    assert raw.loc["c1", "first_name"] == "[erased]"
    # the other holders of the junk address are not the person
    assert raw.loc[["c2", "c3"], "email"].tolist() == ["bounced@@example"] * 2
    assert raw.loc[["c2", "c3"], "first_name"].tolist() == ["Firstc2", "Firstc3"]
    staged = warehouse.read_table("stg_contacts").set_index("contact_id")
    assert staged.loc[["c2", "c3", "c4"], "first_name"].tolist() == [
        "Firstc2", "Firstc3", "Firstc4"]
    csms = warehouse.read_table("stg_csms").set_index("csm_id").sort_index()
    assert csms["name"].tolist() == ["Felix Moreau", "Sam CSM"]  # a namesake, kept
    comments = warehouse.read_table("stg_nps_responses").set_index("response_id").sort_index()
    assert comments["comment"].tolist() == ["[erased] set it up for us", "slow"]
    assert "stg_csms" not in proof.loc[0, "tables"]
