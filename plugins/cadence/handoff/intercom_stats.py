"""Intercom content-stats exports in, engagement events out.

Intercom has no webhook topic for opens or clicks of an admin-initiated message; it
reports them through its Data Export API (``POST /export/content/data`` for a date range,
then ``GET /download/content/data/<job>``: gzipped CSV files in the ``data_export_csv``
layout). Each row is one receipt of one message: ``ruleset_id`` (the message id, which is
the ``id`` our ``POST /messages`` got back and stored in ``deliveries``), ``receipt_id``,
``received_at`` and the first time of each statistic (``first_open``, ``first_click``,
``first_unsubscribe``, ``first_hard_bounce``, ...), all unix seconds. The export files
(``*.csv`` or ``*.csv.gz``) are dropped in ``CADENCE_SOURCE_DIR/<intercom_stats_folder>``.

Rows become ``engagement_events`` (provider ``intercom``): received -> delivered, then
open, click, unsubscribe and bounce at their first time. Because Intercom reports first
times, an overlapping or repeated export yields the same event keys and loads nothing
twice. Rows about content cadence never sent (the export covers the whole workspace) are
counted, not loaded; rows that break a rule go to ``quarantine`` naming file, row, column
and rule. The export's ``email`` and ``name`` columns are never read into the warehouse.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ENTITY = "intercom.content_stats"
REQUIRED = ("ruleset_id", "receipt_id", "received_at")
# Intercom statistic column -> our event (DESIGN §4 engagement_events)
STATISTICS = {"received_at": "delivered", "first_open": "open", "first_click": "click",
              "first_unsubscribe": "unsubscribe", "first_hard_bounce": "bounce"}
# Statistics of surveys, tours and series that our events have no name for: counted only.
UNTRACKED = ("first_reply", "first_completion", "first_series_completion",
             "first_series_disengagement", "first_series_exit", "first_goal_success",
             "first_dismisall")
LATEST = 4_102_444_800  # 2100-01-01: a larger "time" is milliseconds or garbage
PERSONAL = ("email", "name")  # kept out of the warehouse, quarantine included
EVENT_COLUMNS = ["provider", "provider_message_id", "touch_id", "event", "occurred_at"]


class IntercomExportError(ValueError):
    """An export file that is not a content data export; the message names file and column."""


def export_files(folder: Path) -> list[Path]:
    """The export files of ``folder`` in name order (none when it does not exist)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith((".csv", ".csv.gz")))


def read_export(path: Path) -> pd.DataFrame:
    """One export file as text, with ``_file`` and ``_row`` (1 = first data row); raises
    :class:`IntercomExportError` when it cannot be read or lacks a required column."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, OSError, EOFError) as exc:  # bad gzip, empty or unparsable file
        raise IntercomExportError(f"{path.name}: not a readable CSV export: "
                                  f"{type(exc).__name__}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    for column in REQUIRED:
        if column not in frame.columns:
            raise IntercomExportError(
                f"{path.name}: column {column}: missing (an Intercom content data export "
                f"has {', '.join(REQUIRED)})")
    frame = frame.drop(columns=[c for c in PERSONAL if c in frame.columns])
    return frame.assign(_file=path.name, _row=[str(n) for n in range(1, len(frame) + 1)])


def validate_export(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(valid rows, rejected rows with ``rule``): ids present, every time unix seconds,
    no statistic before the receipt. A row breaking several rules names them all."""
    rules = pd.Series([[] for _ in range(len(frame))], index=frame.index, dtype=object)

    def fail(mask: pd.Series, rule: str) -> None:
        for i in mask[mask].index:
            rules[i].append(rule)

    for column in ("ruleset_id", "receipt_id", "received_at"):
        fail(frame[column].str.strip() == "", f"{ENTITY}.{column}: required")
    received = pd.to_numeric(frame["received_at"], errors="coerce")
    for column in (c for c in (*STATISTICS, *UNTRACKED) if c in frame.columns):
        text = frame[column].str.strip()
        seconds = pd.to_numeric(text, errors="coerce")
        given = text != ""
        bad = given & ~(seconds.notna() & seconds.between(0, LATEST) & (seconds % 1 == 0))
        fail(bad, f"{ENTITY}.{column}: not unix seconds")
        if column != "received_at":
            fail(given & ~bad & (seconds < received), f"{ENTITY}.{column}: before received_at")
    rejected = rules.map(bool)
    out = frame[rejected].assign(rule=rules[rejected].map("; ".join))
    return frame[~rejected], out


def export_events(valid: pd.DataFrame, messages: pd.DataFrame
                  ) -> tuple[pd.DataFrame, int, dict[str, int]]:
    """Events of the valid rows whose ``ruleset_id`` is a message cadence sent
    (``messages``: touch_id, provider_message_id): (events, rows about other content,
    counts of untracked statistics)."""
    ids = valid.assign(ruleset_id=valid["ruleset_id"].str.strip())
    ours = ids.merge(messages.drop_duplicates("provider_message_id"),
                     left_on="ruleset_id", right_on="provider_message_id", how="inner")
    other = int((~ids["ruleset_id"].isin(messages["provider_message_id"])).sum())
    frames = []
    for column, event in STATISTICS.items():
        if column not in ours.columns:
            continue
        given = ours[ours[column].str.strip() != ""]
        frames.append(pd.DataFrame({
            "provider": "intercom", "provider_message_id": given["ruleset_id"],
            "touch_id": given["touch_id"], "event": event,
            "occurred_at": pd.to_datetime(given[column].astype("int64"), unit="s",
                                          utc=True)}))
    events = (pd.concat(frames, ignore_index=True) if frames
              else pd.DataFrame(columns=EVENT_COLUMNS))
    untracked = {column: int((ours[column].str.strip() != "").sum())
                 for column in UNTRACKED if column in ours.columns}
    return events[EVENT_COLUMNS], other, {k: v for k, v in untracked.items() if v}


def read_intercom_exports(folder: Path, messages: pd.DataFrame
                          ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Every export file of ``folder``: (events, rejected rows with ``rule``, counts of
    rows read, rows about other content and untracked statistics)."""
    files = [read_export(path) for path in export_files(folder)]
    if not files:
        return (pd.DataFrame(columns=EVENT_COLUMNS), pd.DataFrame(),
                {"rows": 0, "other_content_rows": 0, "untracked_statistics": {}})
    frame = pd.concat(files, ignore_index=True).fillna("")
    valid, rejected = validate_export(frame)
    events, other, untracked = export_events(valid, messages)
    return events, rejected, {"rows": len(frame), "other_content_rows": other,
                              "untracked_statistics": untracked}
