"""Suppression rows from every source in the consent table's shape, merged one per key."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from cadence.handoff.consent import ConsentError, merge_suppressions, normalise_suppressions

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)


def rows(*values):
    return pd.DataFrame(values, columns=["email", "contact_id", "reason", "scope",
                                         "created_at"])


@pytest.mark.parametrize(("broken", "message"), [
    ((None, None, "unsubscribe", "all"), "row 1: column email/contact_id: one of them"),
    (("b@example.com", None, "optout", "all"), "row 1: column reason: unknown reason 'optout'"),
])
def test_the_first_broken_suppression_row_is_named(broken, message):
    frame = rows(("a@example.com", None, "bounce", None, "2026-11-01T00:00:00Z"),
                 (*broken, "2026-11-02T00:00:00Z"),
                 (None, None, "later", None, "2026-11-03T00:00:00Z"))
    with pytest.raises(ConsentError, match=message):
        normalise_suppressions(frame, "files", NOW)


def test_rows_are_normalised_and_merged_one_per_key_earliest_report_first():
    files = normalise_suppressions(rows(
        (" Jo@Example.COM ", None, "unsubscribe", None, "2026-11-02T00:00:00Z"),
        (None, "c1", "bounce", None, "2026-11-01T00:00:00Z")), "files", NOW)
    provider = normalise_suppressions(rows(
        ("jo@example.com", None, "unsubscribe", "all", "2026-10-30T00:00:00Z"),
        ("jo@example.com", None, "unsubscribe", "marketing", "2026-11-05T00:00:00Z")),
        "sendgrid", NOW)
    merged = merge_suppressions(files, provider)
    assert merged[["email", "contact_id", "reason", "scope", "source"]].astype(object).where(
        merged.notna(), None).values.tolist() == [
        ["jo@example.com", None, "unsubscribe", "all", "sendgrid"],
        ["jo@example.com", None, "unsubscribe", "marketing", "sendgrid"],
        [None, "c1", "bounce", "email", "files"],
    ]
    assert merged["created_at"].iloc[0] == pd.Timestamp("2026-10-30T00:00:00Z")
