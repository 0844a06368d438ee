"""Erasure is erasure (DESIGN §9.8): an ``erasure`` suppression pseudonymises the contact's
personal data in every warehouse table and every file cadence wrote under
``CADENCE_OUT_DIR``, logs the minimum proof in ``erasure_log`` and stays applied on later
loads.

What is personal data is found generically, so tables and files other steps add later are
covered without a change here:

- **Tables**: every base table of the warehouse schema (``information_schema``) with text
  columns. The contact's e-mail addresses and full name are replaced wherever they occur
  (any column, inside JSON too); in the contact's own rows (a ``contact_id`` column with
  its id, a JSON ``"contact_id": "<id>"`` or its e-mail) the first and last name are
  replaced as well, and personal columns and JSON keys (e-mail, names, phone, comments)
  are overwritten whole.
- **Files**: every file under the out dir. JSON lines and CSV rows are the contact's own
  when they carry its id or e-mail; iCalendar files are unfolded, pseudonymised per event
  and written back folded. Other text files lose the e-mail and full name. A file that is
  not text but contains the e-mail stops the erasure with its name (never claimed done).

Pseudonyms are irreversible: an e-mail becomes ``erased-<sha256 prefix>@erased.invalid``
(still a valid address, so later loads validate; ``.invalid`` never delivers), a name
``[erased]``. ``erasure_log`` keeps only the SHA-256 of the normalised e-mail, the
contact_id, when, and which tables and files were changed; the contact's erasure is added
to ``consent_suppressions`` so nothing is planned or sent to it even if the source drops
the request. :func:`cadence.contract.erased_contacts.reapply_erasures` runs at every
extract, so a CRM that keeps sending the contact loads pseudonyms only.
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import itertools
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import ahocorasick
import idna
import pandas as pd
import sqlalchemy as sa

from cadence.contract.emails import is_address, normalise_email
from cadence.contract.erased_contacts import (
    _EMAIL_COLUMN,
    ERASED,
    ERASED_DOMAIN,
    PERSONAL,
    email_sha256,
    erased_email,
    is_erased_email,
)
from cadence.contract.errors import RetryCannotHelp
from cadence.contract.schema import table_columns
from cadence.contract.warehouse import Warehouse

log = logging.getLogger(__name__)

LOG_COLUMNS = table_columns("erasure_log")
_TEXT_TYPES = {"text", "varchar", "character varying", "character", "string"}
_JSON_PERSONAL = (r'"((?:contact_)?(?:first_name|last_name|full_name|name|phone)'
                  r'|[a-z_]*comment)"\s*:\s*"(?:[^"\\]|\\.)*"')
# An address under a personal key of the contact's own JSON that is not its pseudonym yet
# (a malformed copy validation quarantined).
_JSON_EMAIL = r'"((?:contact_)?email)"\s*:\s*"(?:[^"\\]|\\.)*"'
_REGEX_SPECIAL = set(r"\.^$|?*+()[]{}")
# Columns holding a person's name whole (cleared in the subject's own rows only).
NAME_COLUMN = re.compile(r"^(?:contact_)?(?:first_name|last_name|full_name|name)$")
# Probes per regular expression when a table is searched for every subject at once (RE2
# matches an address against 250 at a quarter of the time it takes against 500).
_CHUNK = 250
# Characters every address (an @), JSON contact_id (a quote) and full name (a blank)
# holds, and that no lower-casing makes or removes.
_MARKS = ("@", '"', " ")


class ErasureError(RetryCannotHelp):
    """Something cadence wrote cannot be pseudonymised; the message names the file or table,
    never the personal data. Retrying cannot help until the file is dealt with."""


@dataclass
class Subject:
    """One erased person as cadence knows them: ids, addresses (normalised) and names."""

    contact_ids: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    first_names: set[str] = field(default_factory=set)
    last_names: set[str] = field(default_factory=set)

    @property
    def full_names(self) -> set[str]:
        """"First Last" of every name pair seen (the names alone are only erased in the
        contact's own rows: another contact may share a first name)."""
        return {f"{f} {ln}" for f in self.first_names for ln in self.last_names}

    def email_forms(self) -> dict[str, str]:
        """Every written form of each address (as normalised, with a Unicode domain) ->
        its pseudonym."""
        forms = {}
        # Sorted: the first form's pseudonym fills a cleared email column, the same one
        # whatever the process's hash seed.
        for email in sorted(self.emails):
            token = erased_email(email)
            forms[email] = token
            local, _, domain = email.rpartition("@")
            with contextlib.suppress(idna.IDNAError):
                forms[f"{local}@{idna.decode(domain)}"] = token
        return forms


# -- pure text pseudonymisation --------------------------------------------------------
def _variants(value: str) -> set[str]:
    """How ``value`` is written in the text cadence produces: as is, JSON-escaped (ASCII),
    HTML-escaped and iCalendar-escaped."""
    return {value, json.dumps(value)[1:-1], html.escape(value),
            value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")}


def _pattern(needles: Iterable[str]) -> re.Pattern | None:
    texts = sorted({v for n in needles if len(n) >= 2 for v in _variants(n)}, key=len,
                   reverse=True)
    if not texts:
        return None
    return re.compile("|".join(re.escape(t) for t in texts), re.IGNORECASE)


@dataclass
class Scrubber:
    """Replaces a subject's personal data in text; ``tied`` text (the contact's own row,
    line or event) also loses the first and last names and personal JSON values."""

    subject: Subject

    def __post_init__(self) -> None:
        forms = self.subject.email_forms()
        self._tokens = {k.lower(): v for k, v in forms.items()}
        self._email = _pattern(forms)
        self._full = _pattern(self.subject.full_names)
        names = _pattern(self.subject.first_names | self.subject.last_names)
        self._names = names and re.compile(rf"(?<!\w)(?:{names.pattern})(?!\w)",
                                           re.IGNORECASE)
        self._json = re.compile(_JSON_PERSONAL)
        ids = "|".join(re.escape(i) for i in sorted(self.subject.contact_ids))
        self._id = re.compile(rf"(?<![\w-])(?:{ids})(?![\w-])") if ids else None
        self._json_id = (re.compile(rf'"contact_id"\s*:\s*"(?:{ids})"') if ids else None)

    def _token(self, match: re.Match) -> str:
        text = match.group(0)
        for form, token in self._tokens.items():
            if text.lower() in {v.lower() for v in _variants(form)}:
                return token
        return next(iter(self._tokens.values()))

    def ties(self, text: str) -> bool:
        """Whether ``text`` is the contact's own: it carries its id or an address."""
        return bool((self._email and self._email.search(text))
                    or (self._json_id and self._json_id.search(text))
                    or ERASED_DOMAIN in text and any(t in text for t in self._tokens.values()))

    def ties_by_id(self, text: str) -> bool:
        """Whether ``text`` names the contact's id as a whole word."""
        return bool(self._id and self._id.search(text))

    def scrub(self, text: str, tied: bool) -> str:
        """``text`` without the subject's e-mail and full name (and, when ``tied``, names
        and personal JSON values)."""
        if self._email:
            text = self._email.sub(self._token, text)
        if self._full:
            text = self._full.sub(ERASED, text)
        if tied:
            if self._names:
                text = self._names.sub(ERASED, text)
            text = self._json.sub(lambda m: f'"{m.group(1)}": "{ERASED}"', text)
            if "@" + ERASED_DOMAIN not in text:
                text = re.sub(_JSON_EMAIL, lambda m: f'"{m.group(1)}": "{ERASED}"', text)
        return text


# -- the warehouse ----------------------------------------------------------------------
def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _regex_literal(text: str) -> str:
    """``text`` as a regular expression both RE2 (DuckDB) and PostgreSQL read literally."""
    return "".join("\\" + c if c in _REGEX_SPECIAL else c for c in text)


def text_columns(warehouse: Warehouse) -> dict[str, list[str]]:
    """Every base table of the warehouse schema and its text columns."""
    rows = warehouse.read_frame(
        "select c.table_name, c.column_name, c.data_type"
        " from information_schema.columns c"
        " join information_schema.tables t"
        "   on t.table_name = c.table_name and t.table_schema = c.table_schema"
        " where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'"
        " order by c.table_name, c.ordinal_position")
    tables: dict[str, list[str]] = {}
    for table, column, data_type in rows.itertuples(index=False):
        tables.setdefault(table, [])
        if str(data_type).lower() in _TEXT_TYPES:
            tables[table].append(column)
    return tables


def find_subjects(warehouse: Warehouse, requests: list[tuple[set[str], set[str]]]
                  ) -> list[Subject]:
    """The person behind each request's ``(emails, contact_ids)``: every table with
    ``contact_id`` and ``email`` columns, and quarantined contact rows, searched for all
    requests at once and widened once each way (an id's other addresses, an address's
    other ids; only through addresses validation accepts)."""
    subjects = [Subject(set(contact_ids), {normalise_email(e) for e in emails})
                for emails, contact_ids in requests]
    tables = text_columns(warehouse)
    quarantined = _quarantined_people(warehouse) if "quarantine" in tables else None
    for widening in range(3):
        rows = list(_people(warehouse, tables, quarantined,
                            {c for s in subjects for c in s.contact_ids},
                            {e for s in subjects for e in s.emails}).itertuples(
            index=False, name=None))
        by_id: dict[str, list[int]] = {}
        by_email: dict[str, list[int]] = {}
        for i, (contact_id, email, _, _) in enumerate(rows):
            if isinstance(contact_id, str):
                by_id.setdefault(contact_id, []).append(i)
            if isinstance(email, str):
                by_email.setdefault(email, []).append(i)
        for subject in subjects:
            match = ({i for c in subject.contact_ids for i in by_id.get(c, ())}
                     | {i for e in subject.emails for i in by_email.get(e, ())})
            if widening < 2:
                subject.contact_ids |= {rows[i][0] for i in match
                                        if isinstance(rows[i][0], str)}
                # A junk address (``bounced@@example``, on dozens of rows) is the request's
                # own when it names it, but finds no one else: it would widen one person to
                # everyone holding it, and their names into every table.
                subject.emails |= {rows[i][1] for i in match if is_address(rows[i][1])}
                continue
            for i in match:
                first, last = rows[i][2], rows[i][3]
                if isinstance(first, str) and first.strip():
                    subject.first_names.add(first.strip())
                if isinstance(last, str) and last.strip():
                    subject.last_names.add(last.strip())
    for subject in subjects:
        subject.emails = {e for e in subject.emails
                          if isinstance(e, str) and not is_erased_email(e)}
        subject.first_names.discard(ERASED)
        subject.last_names.discard(ERASED)
    return subjects


_PEOPLE = ["contact_id", "email", "first_name", "last_name"]


def _quarantined_people(warehouse: Warehouse) -> pd.DataFrame:
    rows = warehouse.read_frame("select row from quarantine where entity = 'contacts'")
    return pd.DataFrame([json.loads(r) for r in rows["row"]]).reindex(columns=_PEOPLE)


def _people(warehouse: Warehouse, tables: dict[str, list[str]],
            quarantined: pd.DataFrame | None, ids: set[str], emails: set[str]) -> pd.DataFrame:
    """The people rows that may be ``ids`` or ``emails`` (normalised): the same id, the
    same address lower-cased, or an address SQL cannot normalise as Python does (not
    plain ASCII, blanks); and quarantined contacts. Their addresses normalised."""
    columns = _PEOPLE
    params = {f"id{i}": v for i, v in enumerate(sorted(ids))}
    params |= {f"email{i}": v for i, v in enumerate(sorted(emails))}
    maybe = ["not (email ~ '^[!-~]*$')"]
    if ids:
        maybe.append(f"contact_id in ({', '.join(':' + k for k in params if k[:2] == 'id')})")
    if emails:
        maybe.append(f"lower(email) in ({', '.join(':' + k for k in params if k[:5] == 'email')})")
    frames = []
    for table, text in tables.items():
        if {"contact_id", "email"} <= set(text):
            picked = ", ".join(c if c in text else f"null as {c}" for c in columns)
            frames.append(warehouse.read_frame(
                f"select {picked} from {_quote(table)} where {' or '.join(maybe)}", params))
    if quarantined is not None:
        frames.append(quarantined)
    if not frames:
        return pd.DataFrame(columns=columns)
    people = pd.concat([f.astype(object) for f in frames if len(f)] or frames,
                       ignore_index=True)
    people["email"] = people["email"].map(normalise_email, na_action="ignore")
    return people


@dataclass
class _Probes:
    """What marks a subject's cells: ``own`` (an address, its pseudonym or a JSON
    contact_id: the row is the contact's), ``names`` (a full name alone, someone else's
    comment about them: replaced, not owned) and the contact ids, all lower-case."""

    own: set[str]
    names: set[str]
    ids: set[str]

    @classmethod
    def of(cls, subject: Subject) -> _Probes:
        forms = subject.email_forms()
        return cls({v.lower() for e in forms for v in _variants(e)}
                   | {t.lower() for t in forms.values()}
                   | {f'"contact_id": "{i}"'.lower() for i in subject.contact_ids},
                   {v.lower() for n in subject.full_names for v in _variants(n)},
                   set(subject.contact_ids))


# The rows of one table holding any subject, numbered, with their values before erasure.
_ROWS = "_erasure_rows"
_ROW = "_erasure_row"
# The text an address or a JSON contact id is keyed around, and the characters kept
# before and after it.
_ANCHORS = {"@": ("@", 4, 4), '"': ('"contact_id": "', 0, 8)}
# Subjects per update made together (bounds the statement and its bound values).
_SUBJECTS_PER_STATEMENT = 50


def erase_in_warehouse(warehouse: Warehouse, subjects: list[Subject],
                       then: Callable[[sa.Connection, list[dict[str, int]]], None] | None = None,
                       skip: Iterable[str] = ("erasure_log",)) -> list[dict[str, int]]:
    """Pseudonymise every subject in every table (SQL, the same text on DuckDB and
    PostgreSQL) in one transaction, with ``then(conn, changed)`` (the proof) inside it:
    all or nothing, so a failed erasure is retried whole. Per subject, its rows per table.

    Each table is searched once for all subjects (their probes a bound list) and the rows
    found are copied to a temporary table; every subject's updates run there, on its own
    rows only and many subjects per statement, and one update per table writes the rows
    back. So the work grows with the tables and the rows erased, not with tables times
    requests."""
    probes = [_Probes.of(s) for s in subjects]
    changed: list[dict[str, int]] = [{} for _ in subjects]
    everything = sorted({p for pr in probes for p in pr.own | pr.names})
    all_ids = sorted({i for pr in probes for i in pr.ids})
    # Regular expressions of the probes holding each mark (the first of ``_MARKS`` they
    # hold), searched only in rows holding it: an address is only looked for where there
    # is an @, so the many names do not search every e-mail and the many addresses not
    # every text. RE2 (DuckDB) and PostgreSQL run each in one pass over a row's text, in
    # chunks: PostgreSQL refuses a "too complex" expression, RE2 caps its memory. Full
    # names (``names``) are mentions: not looked for in name columns (someone's own name
    # there is a namesake's, a CSM's).
    # A group's expressions only run on rows its gate lets through (:func:`_gates`): the
    # expressions' cost grows with the probes they hold (a night with a backlog of
    # requests), a gate's does not.
    by_mark: dict[tuple[str, str, bool], list[str]] = {}
    keys: dict[str, str] = {}  # probe -> its anchor_key, for probes of an anchored mark
    for kind, held in (("own", {p for pr in probes for p in pr.own}),
                       ("names", {p for pr in probes for p in pr.names})):
        for p in sorted(held):
            mark = next((m for m in _MARKS if m in p), "")
            key = anchor_key(p, *_ANCHORS[mark]) if mark in _ANCHORS else None
            if key is not None:
                keys[p] = key
            by_mark.setdefault((kind, mark, mark not in _ANCHORS or key is not None),
                               []).append(p)
    patterns = {group: {f"probes{m}_{k}": _matches_any(held[k:k + _CHUNK])
                        for k in range(0, len(held), _CHUNK)}
                for m, (group, held) in enumerate(by_mark.items())}
    gates = _gates(by_mark, keys)
    # Between a row's values when they are searched as one text: a character no probe
    # holds, so no probe is found across two values.
    separator = next(chr(k) for k in itertools.count(1) if all(chr(k) not in p for p in everything))
    tables = text_columns(warehouse)
    with warehouse.engine.begin() as conn:
        for table, columns in tables.items():
            # An empty table is not searched: compiling the expressions costs more than
            # the search of a small table (a first night has dozens of empty ones).
            if (table in skip or not columns or conn.execute(sa.text(
                    f"select 1 from {_quote(table)} limit 1")).first() is None):
                continue
            params: dict[str, str] = {k: v for ps in patterns.values() for k, v in ps.items()}
            hits = []
            if patterns:
                params |= {"separator": separator, **gates}
                hits.append(_holds(columns, patterns, gates))
            if "contact_id" in columns and all_ids:
                params |= {f"i{i}": v for i, v in enumerate(all_ids)}
                hits.append(f"contact_id in ({', '.join(f':i{i}' for i in range(len(all_ids)))})")
            if not hits:
                continue
            _erase_in_table(conn, table, columns, " or ".join(hits), params, subjects,
                            probes, changed)
        if then is not None:
            then(conn, changed)
    return changed


def anchor_key(probe: str, anchor: str, before: int, after: int) -> str | None:
    """The text around a probe's first ``anchor`` that any text holding the probe holds
    around one of its own: the last ``before`` characters before it and the first
    ``after`` after it, each within the anchor-separated part (None when the probe is too
    short to tell them)."""
    head, found, rest = probe.partition(anchor)
    if not found or len(head) < before:
        return None
    tail, again, _ = rest.partition(anchor)
    if len(tail) < after and not again:
        return None
    return head[len(head) - before:] + anchor + tail[:after]


def _gates(by_mark: dict[tuple[str, str, bool], list[str]],
           keys: dict[str, str]) -> dict[str, str]:
    """Per gated group (bound as ``gate<m>``, its position in ``by_mark``), what a text
    holding one of its probes holds for sure:

    - addresses and JSON contact ids: the key around the text's first anchor is a probe's
      key (``keys``, from :func:`anchor_key`; patterns of whole keys bound as
      ``gate<m>_<k>``: an ``in`` list or subquery would become a join over every row of
      the table), or the text holds the anchor twice;
    - full names: a character that ends a first name, a blank and one that starts a last
      name (a phone number's blanks have digits around them), as a bound pattern.
    """
    gates: dict[str, str] = {}
    for m, ((_, mark, gated), held) in enumerate(by_mark.items()):
        if not gated:
            continue
        if mark in _ANCHORS:
            gates[f"gate{m}"] = _ANCHORS[mark][0]
            held_keys = sorted({keys[p] for p in held})
            gates |= {f"gate{m}_{k}": "^(?:" + "|".join(
                map(_regex_literal, held_keys[k:k + _CHUNK])) + ")$"
                for k in range(0, len(held_keys), _CHUNK)}
        elif mark == " ":
            pairs = [p.partition(" ") for p in held]
            ends = {h[-1:] for h, _, _ in pairs}
            starts = {t[:1] for _, _, t in pairs}
            if all(c.isalnum() for c in ends | starts):
                gates[f"gate{m}"] = (f"(?s).*[{''.join(sorted(ends))}]"
                                     f" [{''.join(sorted(starts))}].*")
    return gates


def _gate(columns: list[str], mark: str, m: int, gates: dict[str, str]) -> str:
    """SQL: gate ``m`` (:func:`_gates`) lets a row through, a value of ``columns`` (quoted)
    at a time: a probe lies within one value, and a value's marks are few."""
    ors = []
    for c in columns:
        text = f"lower({c})"
        if mark == " ":
            ors.append(f"(case when strpos({c}, ' ') = 0 then false else {text} ~ :gate{m} end)")
            continue
        _, before, after = _ANCHORS[mark]
        at = f"strpos({text}, :gate{m})"
        size = f"length(:gate{m})"
        window = (f"substr({text}, greatest({at} - {before}, 1), least({at} - 1, {before}))"
                  f" || substr({text}, {at}, {size} + {after})")
        keys = " or ".join(f"{window} ~ :{k}" for k in gates if k.startswith(f"gate{m}_"))
        ors.append(f"(case when strpos({c}, {mark!r}) = 0 or {at} = 0 then false"
                   f" when strpos(substr({text}, {at} + {size}), :gate{m}) > 0 then true"
                   f" else ({keys}) end)")
    return "(" + " or ".join(ors) + ")"


def mention_columns(columns: list[str]) -> list[str]:
    """The columns a full name is looked for and replaced in: all but name columns (a
    ``name`` or ``first_name`` of a row that is not the subject's own is another person's,
    such as a CSM who shares the name; the subject's own rows are cleared whole)."""
    return [c for c in columns if not NAME_COLUMN.match(c)]


def _holds(columns: list[str], patterns: dict[tuple[str, str, bool], dict[str, str]],
           gates: dict[str, str]) -> str:
    """SQL: a row's ``columns``, lower-cased and joined by the bound ``separator``, match a
    pattern (bound by its key) of ``patterns`` ((kind, mark, gated) -> key -> pattern; full
    names only in :func:`mention_columns`), each tried only on rows holding its mark
    (lower-casing makes no mark; most values, ids, dates and numbers, hold none) that its
    gate lets through. One text per row: a regular expression is compiled once per table,
    not once per column, and run once per row."""
    quoted = [_quote(c) for c in columns]
    held = []
    for m, ((kind, mark, _), keys) in enumerate(patterns.items()):
        searched = [_quote(c) for c in (mention_columns(columns) if kind == "names" else columns)]
        if not searched:
            continue
        joined = f"concat_ws(cast(:separator as text), {', '.join(searched)})"
        match = " or ".join(f"lower({joined}) ~ :{key}" for key in keys)
        if f"gate{m}" in gates:
            gate = _gate(searched, mark, m, gates)
            match = f"case when {gate} then ({match}) else false end"
        # A case: the mark first, whatever order the database prefers.
        held.append(f"(case when strpos({joined}, {mark!r}) = 0 then false else ({match}) end)"
                    if mark else f"({match})")
    if not held:
        return "false"
    if any(mark == "" for _, mark, _ in patterns):
        return "(" + " or ".join(held) + ")"
    marks = sorted({mark for _, mark, _ in patterns})
    marked = " or ".join(f"strpos({c}, {m!r}) > 0" for c in quoted for m in marks)
    return f"(case when {marked} then ({' or '.join(held)}) else false end)"


def _erase_in_table(conn: sa.Connection, table: str, columns: list[str], hit: str,
                    params: dict[str, str], subjects: list[Subject], probes: list[_Probes],
                    changed: list[dict[str, int]]) -> None:
    """Copy the rows of ``table`` that ``hit`` finds, erase each row's subjects there (in
    subject order, as one update per subject over the table would) and write them back."""
    quoted = [_quote(c) for c in columns]
    was = [_quote(f"_was_{i}") for i in range(len(columns))]
    kept = ", ".join(f"{c} as {w}" for c, w in zip(quoted, was, strict=True))
    conn.execute(sa.text(
        f"create temporary table {_ROWS} as select row_number() over () as {_ROW},"
        f" {', '.join(quoted)}, {kept}"
        f" from {_quote(table)} where {hit}"), params)
    try:
        rows = conn.execute(sa.text(
            f"select {_ROW}, {', '.join(quoted)} from {_ROWS}")).fetchall()
        by_row = _subjects_by_row(rows, columns, probes)
        if not by_row:
            return
        known = _owners_of_plain_rows(rows, columns, probes, by_row)
        for subjects_of_row in by_row.values():
            for n in subjects_of_row:
                changed[n][table] = changed[n].get(table, 0) + 1
        cells = {row[0]: row[1:] for row in rows}
        # A row held by several subjects gets them one after the other, in subject order.
        for turn in range(max(len(s) for s in by_row.values())):
            mine: dict[int, list[int]] = {}
            for row, subjects_of_row in by_row.items():
                if turn < len(subjects_of_row):
                    mine.setdefault(subjects_of_row[turn], []).append(row)
            # The first turn sees the rows as found: where all their text is ASCII (SQL and
            # Python lower-case it alike) which update applies is known here, and the
            # subjects' updates are made together.
            together = []
            if turn > 0:
                # later turns see the rows as the earlier ones left them
                cells |= _current(conn, columns, [r for rows in mine.values() for r in rows])
            for n in sorted(mine):
                plain = [r for r in mine[n] if turn == 0 and r in known]
                alone = [r for r in mine[n] if r not in plain]
                if plain:
                    together.append((n, plain, [r for r in plain if n in known[r]]))
                if alone:
                    for statement, values in _subject_statements(
                            columns, subjects[n], probes[n], alone, [cells[r] for r in alone]):
                        conn.execute(sa.text(statement), values)
            for k in range(0, len(together), _SUBJECTS_PER_STATEMENT):
                for statement, values in _joint_statements(
                        columns, together[k:k + _SUBJECTS_PER_STATEMENT], subjects, cells):
                    conn.execute(sa.text(statement), values)
        sets = ", ".join(f"{c} = erased.{c}" for c in quoted)
        same = " and ".join(f"{_quote(table)}.{c} is not distinct from erased.{w}"
                            for c, w in zip(quoted, was, strict=True))
        conn.execute(sa.text(
            f"update {_quote(table)} set {sets}"
            f" from (select distinct {', '.join(quoted)}, {', '.join(was)} from {_ROWS})"
            f" as erased where {same}"))
    finally:
        conn.execute(sa.text(f"drop table {_ROWS}"))


def _current(conn: sa.Connection, columns: list[str], rows: list[int]) -> dict[int, tuple]:
    """Row number -> the values of found rows ``rows`` as they are now."""
    found = conn.execute(sa.text(
        f"select {_ROW}, {', '.join(_quote(c) for c in columns)} from {_ROWS}"
        f" where {_ROW} in ({', '.join(str(r) for r in rows)})")).fetchall()
    return {row[0]: tuple(row[1:]) for row in found}


def _subjects_by_row(rows: list[tuple], columns: list[str], probes: list[_Probes]
                     ) -> dict[int, list[int]]:
    """Row number -> the subjects (ascending) whose probe a text cell of the row holds
    (lower-cased, but ``contact_id`` as it is), or whose id is the row's ``contact_id``."""
    every = [(p, n, False) for n, pr in enumerate(probes) for p in pr.own]
    every += [(p, n, True) for n, pr in enumerate(probes) for p in pr.names]
    # Probes are looked up by their first ``width`` characters at every position of a
    # cell: every occurrence is found, overlapping ones too, whatever the number of probes.
    width = min((len(p) for p, _, _ in every), default=0)
    index: dict[str, list[tuple[str, int, bool]]] = {}
    for p, n, mention in every:
        index.setdefault(p[:width], []).append((p, n, mention))
    mentions = set(mention_columns(columns))
    named = {at for at, c in enumerate(columns) if c not in mentions}
    by_id: dict[str, set[int]] = {}
    for n, pr in enumerate(probes):
        for i in pr.ids:
            by_id.setdefault(i, set()).add(n)
    id_at = columns.index("contact_id") if "contact_id" in columns else None
    found_by_row = {}
    for row, *values in rows:
        found: set[int] = set()
        for at, value in enumerate(values):
            if not isinstance(value, str) or not every:
                continue
            text = value if at == id_at else value.lower()
            for i in range(len(text) - width + 1):
                for p, n, mention in index.get(text[i:i + width], ()):
                    if (n not in found and not (mention and at in named)
                            and text.startswith(p, i)):
                        found.add(n)
        if id_at is not None and isinstance(values[id_at], str):
            found |= by_id.get(values[id_at], set())
        if found:
            found_by_row[row] = sorted(found)
    return found_by_row


def _owners_of_plain_rows(rows: list[tuple], columns: list[str], probes: list[_Probes],
                          by_row: dict[int, list[int]]) -> dict[int, set[int]]:
    """Row number -> which of its subjects (``by_row``) SQL finds it the own row of (an own
    probe in a lower-cased cell, or its id the ``contact_id``), for rows whose text is all
    ASCII."""
    id_at = columns.index("contact_id") if "contact_id" in columns else None
    owners = {}
    for row, *values in rows:
        texts = [v.lower() for v in values if isinstance(v, str)]
        if row not in by_row or not all(t.isascii() for t in texts):
            continue
        owners[row] = {n for n in by_row[row]
                       if any(p in t for t in texts for p in probes[n].own)
                       or id_at is not None and values[id_at] in probes[n].ids}
    return owners


def _joint_statements(columns: list[str], together: list[tuple[int, list[int], list[int]]],
                      subjects: list[Subject], cells: dict[int, tuple]
                      ) -> list[tuple[str, dict]]:
    """The updates erasing several subjects at once on rows (all ASCII, as found) whose
    subject is known: ``(subject, rows, own rows)``. The e-mail and full name are
    replaced on all of a subject's rows (the condition of its update holds there), then
    its own rows cleared, each value by the subject's expression (a ``case`` on the row)."""
    params: dict[str, str] = {}
    replaced: dict[str, list[str]] = {}
    cleared: dict[str, list[str]] = {}
    every, owned = [], []
    for n, rows, own in together:
        subject = subjects[n]
        key = f"s{n}_"
        email_forms = subject.email_forms()
        everywhere = {**email_forms, **dict.fromkeys(subject.full_names, ERASED)}
        words = sorted(x for x in subject.first_names | subject.last_names if len(x) >= 2)
        applying = _applying(everywhere, [cells[r] for r in rows])
        replace = (_replacements(columns, applying, params, key, subject.full_names)
                   if applying else {})
        changing, _ = _changing_columns(columns, [cells[r] for r in rows], applying, words)
        mine = f"{_ROW} in ({', '.join(str(r) for r in rows)})"
        every.append(mine)
        for column in changing:
            replaced.setdefault(column, []).append(f"when {mine} then {replace[column]}")
        if own:
            clear = _own_rows(columns, email_forms, words, params, key)
            _, changing = _changing_columns(columns, [cells[r] for r in own], everywhere,
                                            words)
            mine = f"{_ROW} in ({', '.join(str(r) for r in own)})"
            owned.append(mine)
            for column in changing:
                cleared.setdefault(column, []).append(f"when {mine} then {clear[column]}")
    return [(f"update {_ROWS} set " + ", ".join(
                f"{_quote(c)} = case {' '.join(whens)} else {_quote(c)} end"
                for c, whens in sets.items()) + f" where {' or '.join(where)}", params)
            for sets, where in ((replaced, every), (cleared, owned)) if sets]


def _matches_any(texts: Iterable[str]) -> str:
    """A pattern that ``~`` matches (a whole-value match on DuckDB, a search on
    PostgreSQL) when a value holds any of ``texts``."""
    return "(?s).*(?:" + "|".join(_regex_literal(t) for t in sorted(texts)) + ").*"


def _subject_statements(columns: list[str], subject: Subject, probes: _Probes,
                        rows: list[int], seen: list[tuple]) -> list[tuple[str, dict]]:
    """The two updates of the found rows erasing ``subject`` on its ``rows``: its e-mail and
    full name wherever they occur, then its own rows, each where the subject's update over
    the whole table would apply (its condition). Given the rows' values (``seen``), a
    column is only set, and a needle only replaced, where it can change them (compiling
    every expression for every column is most of the work otherwise)."""
    email_forms = subject.email_forms()
    everywhere = {**email_forms, **dict.fromkeys(subject.full_names, ERASED)}
    params: dict[str, str] = {f"id{i}": v for i, v in enumerate(sorted(probes.ids))}
    ids = ", ".join(":" + k for k in params)
    own = _any_contains(columns, probes.own, "own", params)
    if "contact_id" in columns and probes.ids:
        own = f"{own} or contact_id in ({ids})"
    mine = f"{_ROW} in ({', '.join(str(r) for r in rows)})"
    hit = f"{own} or {_any_contains(mention_columns(columns), probes.names, 'names', params)}"
    words = sorted(n for n in subject.first_names | subject.last_names if len(n) >= 2)
    applying = _applying(everywhere, seen)
    replace = (_replacements(columns, applying, params, names=subject.full_names)
               if applying else {})
    clear = _own_rows(columns, email_forms, words, params)
    replaced, _ = _changing_columns(columns, seen, applying, words)
    _, owned = _changing_columns(columns, seen, everywhere, words)
    replace = {c: v for c, v in replace.items() if c in replaced}
    clear = {c: v for c, v in clear.items() if c in owned}
    return [(f"update {_ROWS} set {', '.join(f'{_quote(c)} = {v}' for c, v in sets.items())}"
             f" where {mine} and ({where})", params)
            for sets, where in ((replace, hit), (clear, own)) if sets]


def _applying(needles: dict[str, str], seen: list[tuple]) -> dict[str, str]:
    """The needles (in order) whose replacement changes a text of rows ``seen``, when the
    texts, needles and pseudonyms are all ASCII: there SQL's case-insensitive match is
    Python's, and the replacements are followed one after the other (one could write a
    later needle). Otherwise all of them. (A subject with many names would otherwise
    compile every name's expression for every row it touches.)"""
    texts = [v for row in seen for v in row if isinstance(v, str)]
    variants = {n: sorted(_variants(n), key=len, reverse=True) for n in needles}
    if not all(t.isascii() for t in [*texts, *needles.values()]
               + [v for vs in variants.values() for v in vs]):
        return needles
    lowered = {n: [v.lower() for v in vs] for n, vs in variants.items()}
    kept = set()
    for text in texts:
        low = text.lower()
        for needle, token in needles.items():
            if any(v in low for v in lowered[needle]):
                kept.add(needle)
                text = re.sub("|".join(re.escape(v) for v in variants[needle]),
                              lambda _, t=token: t, text, flags=re.IGNORECASE)
                low = text.lower()
    return {n: t for n, t in needles.items() if n in kept}


def _changing_columns(columns: list[str], seen: list[tuple], everywhere: dict[str, str],
                      words: list[str]) -> tuple[set[str], set[str]]:
    """The columns of rows ``seen`` that the replacements, then the own-row clearing, can
    change: a needle (or a name) there compared case-folded (wider than the regular
    expressions' case-insensitive match), any value of a personal column, a quote (JSON)."""
    needles = {v.casefold() for n in everywhere for v in _variants(n)}
    names = {v.casefold() for n in words for v in _variants(n)}
    made = {t.casefold() for t in everywhere.values()} | {ERASED}
    if any(n in t for n in names for t in made):  # a replacement could write a name
        names = {""}
    replaced, owned = set(), set()
    for at, column in enumerate(columns):
        texts = [row[at].casefold() for row in seen if isinstance(row[at], str)]
        if any(n in t for t in texts for n in needles):
            replaced.add(column)
        if texts and (_EMAIL_COLUMN.match(column) or PERSONAL.match(column)
                      or any('"' in t or any(n in t for n in names) for t in texts)):
            owned.add(column)
    return replaced, owned


def _any_contains(columns: list[str], probes: set[str], key: str,
                  params: dict[str, str]) -> str:
    """SQL: any of ``columns`` holds any of ``probes`` (lower-case), bound in ``params``."""
    if not probes:
        return "false"
    params[key] = _matches_any(probes)
    return "(" + " or ".join(f"lower({_quote(c)}) ~ :{key}" for c in columns) + ")"


def _replacements(columns: list[str], needles: dict[str, str], params: dict[str, str],
                  key: str = "", names: Iterable[str] = ()) -> dict[str, str]:
    """Per column, the value with each needle (every written form, any case) replaced by
    its pseudonym; full ``names`` only in :func:`mention_columns`."""
    names = set(names)
    mentions = set(mention_columns(columns))
    for n, (needle, token) in enumerate(needles.items()):
        variants = sorted(_variants(needle), key=len, reverse=True)
        params[f"{key}pattern{n}"] = "|".join(_regex_literal(v) for v in variants)
        params[f"{key}token{n}"] = token
    sets = {}
    for column in columns:
        value = _quote(column)
        for n, needle in enumerate(needles):
            if column in mentions or needle not in names:
                value = f"regexp_replace({value}, :{key}pattern{n}, :{key}token{n}, 'gi')"
        sets[column] = value
    return sets


def _own_rows(columns: list[str], email_forms: dict[str, str], words: list[str],
              params: dict[str, str], key: str = "") -> dict[str, str]:
    """Per column, the value clearing the subject's own rows: personal columns whole,
    first and last names (``words``) as words, personal values inside JSON."""
    params[f"{key}pseudonym"] = next(iter(email_forms.values()), f"erased@{ERASED_DOMAIN}")
    params["json_personal"] = _JSON_PERSONAL
    params["json_email"] = _JSON_EMAIL
    params["erased_domain"] = "@" + ERASED_DOMAIN
    params["json_erased"] = '"\\1": "' + ERASED + '"'
    # A name is a word: its neighbours are no letters or digits (RE2 has no lookaround).
    params[f"{key}words"] = ("(^|[^[:alnum:]_])(" + "|".join(
        _regex_literal(v) for n in words for v in sorted(_variants(n), key=len, reverse=True))
        + ")($|[^[:alnum:]_])")
    params["name_erased"] = "\\1" + ERASED + "\\3"
    sets = {}
    for column in columns:
        c = _quote(column)
        if _EMAIL_COLUMN.match(column):
            sets[column] = (f"case when {c} is null or lower({c}) like '%@{ERASED_DOMAIN}'"
                            f" then {c} else :{key}pseudonym end")
        elif PERSONAL.match(column):
            sets[column] = f"case when {c} is null then null else '{ERASED}' end"
        else:
            value = (f"case when strpos({c}, :erased_domain) > 0 then {c} else"
                     f" regexp_replace({c}, :json_email, :json_erased, 'g') end")
            value = f"regexp_replace({value}, :json_personal, :json_erased, 'g')"
            if words:
                # twice: a match consumes the blank a following name would start from
                for _ in range(2):
                    value = f"regexp_replace({value}, :{key}words, :name_erased, 'gi')"
            sets[column] = value
    return sets


# -- files ------------------------------------------------------------------------------
def erase_in_files(out_dir: Path, subjects: list[Subject]) -> list[list[str] | ErasureError]:
    """Pseudonymise every subject in every file under ``out_dir``, each file read once;
    per subject, the files changed (relative to it), or the error naming a file that is
    not text but holds the subject's data (that subject is not erased)."""
    scrubbers = [Scrubber(s) for s in subjects]
    # What any change to a file needs: an address (or its pseudonym), a full name or an id.
    # Which subjects a file concerns is found in one pass over it for all of them (a
    # request's texts searched one by one cost requests x files: 875 first-night requests
    # over 19,000 CSM task files did not end in 15 minutes).
    needles = _Needles([{n.lower() for n in _variants_all(s.emails | s.full_names)}
                        | {t.lower() for t in s.email_forms().values()}
                        | {i.lower() for i in s.contact_ids} for s in subjects])
    # Bytes that are not UTF-8 are searched as Latin-1 text: one character per byte.
    raw_needles = _Needles([{n.lower().encode().decode("latin-1")
                             for n in s.emails | s.full_names} for s in subjects])
    changed: list[list[str] | ErasureError] = [[] for _ in subjects]
    root = Path(out_dir)
    if not root.is_dir():
        return changed
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            for n in raw_needles.found_in(raw.lower().decode("latin-1")):
                if isinstance(changed[n], list):
                    changed[n] = ErasureError(
                        f"{path}: not UTF-8 text but holds the erased contact's data;"
                        " cadence cannot pseudonymise it")
            continue
        # a stopped request is left alone from then on (files read before stay done)
        mine = {n: scrubbers[n] for n in needles.found_in(text.lower())
                if isinstance(changed[n], list)}
        if not mine:
            continue
        new, by = _scrub_text(path, text, mine, needles)
        for n in sorted(by):
            changed[n].append(str(path.relative_to(root)))
        if new != text:
            path.write_text(new, encoding="utf-8")
    return changed


class _Needles:
    """Texts of several subjects found in one pass over a text (an Aho-Corasick automaton)."""

    def __init__(self, per_subject: list[set[str]]) -> None:
        owners: dict[str, set[int]] = {}
        for n, texts in enumerate(per_subject):
            for text in texts:
                if text:
                    owners.setdefault(text, set()).add(n)
        self._automaton = ahocorasick.Automaton() if owners else None
        for text, subjects in owners.items():
            self._automaton.add_word(text, frozenset(subjects))
        if self._automaton is not None:
            self._automaton.make_automaton()

    def found_in(self, text: str) -> list[int]:
        """The subjects (indices, in order) any of whose texts occurs in ``text``."""
        if self._automaton is None:
            return []
        found: set[int] = set()
        for _, subjects in self._automaton.iter(text):
            found |= subjects
        return sorted(found)


def _variants_all(values: Iterable[str]) -> set[str]:
    return {v for value in values for v in _variants(value)}


def _scrub_text(path: Path, text: str, scrubbers: dict[int, Scrubber], needles: _Needles
                ) -> tuple[str, set[int]]:
    """``text`` without the personal data of every subject of ``scrubbers`` (by number),
    the file parsed and written once; and which subjects changed it. Each piece (event,
    row, line) is scrubbed by the subjects whose texts it holds, one after the other: a
    piece holding none of a subject's addresses, names or ids has nothing of theirs."""
    changed: set[int] = set()

    def present(piece: str) -> list[tuple[int, Scrubber]]:
        return [(n, scrubbers[n]) for n in needles.found_in(piece.lower()) if n in scrubbers]

    def scrub(piece: str, tied: Callable[[Scrubber, str], bool]) -> str:
        for n, scrubber in present(piece):
            new = scrubber.scrub(piece, tied(scrubber, piece))
            if new != piece:
                changed.add(n)
                piece = new
        return piece

    suffix = path.suffix.lower()
    if suffix == ".ics":
        new = _scrub_ics(text, scrub)
    elif suffix == ".csv":
        new = _scrub_csv(text, present, changed)
    elif suffix in (".jsonl", ".ndjson"):
        new = "".join(scrub(line, Scrubber.ties) for line in text.splitlines(keepends=True))
    else:
        new = scrub(text, _no_tie)
    return (new, changed) if changed else (text, changed)


def _scrub_csv(text: str, present: Callable[[str], list[tuple[int, Scrubber]]],
               changed: set[int]) -> str:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n" if "\r\n" in text else "\n")
    for row in rows:
        for n, scrubber in present("\x1f".join(row)):
            joined = "\x1f".join(row)  # as an earlier subject left it
            tied = scrubber.ties(joined) or any(f.strip() in scrubber.subject.contact_ids
                                                for f in row)
            new = [scrubber.scrub(f, tied) for f in row]
            if new != row:
                changed.add(n)
                row = new
        writer.writerow(row)
    return out.getvalue()


def _scrub_ics(text: str, scrub: Callable[[str, Callable[[Scrubber, str], bool]], str]
               ) -> str:
    from icalendar import Calendar

    newline = "\r\n" if "\r\n" in text else "\n"
    unfolded = re.sub(r"\r?\n[ \t]", "", text)
    parts = re.split(r"(BEGIN:VEVENT.*?END:VEVENT)", unfolded, flags=re.DOTALL)
    scrubbed = "".join(scrub(p, _event_tie if p.startswith("BEGIN:VEVENT") else _no_tie)
                       for p in parts)
    if scrubbed == unfolded:
        return text
    try:
        return Calendar.from_ical(scrubbed).to_ical().decode("utf-8")
    except ValueError:
        return scrubbed.replace("\r\n", "\n").replace("\n", newline)


def _event_tie(scrubber: Scrubber, event: str) -> bool:
    # An event is the contact's own when it carries an address of theirs or their id.
    return scrubber.ties(event) or scrubber.ties_by_id(event)


def _no_tie(_scrubber: Scrubber, _text: str) -> bool:
    return False


# -- requests, the log and later loads ---------------------------------------------------
def _requests(warehouse: Warehouse) -> pd.DataFrame:
    frames = []
    for table in ("consent_suppressions", "stg_suppressions"):
        if warehouse.table_exists(table):
            frames.append(warehouse.read_frame(
                f"select email, contact_id, created_at from {table} where reason = 'erasure'"))
    if not frames:
        return pd.DataFrame(columns=["email", "contact_id", "created_at"])
    requests = pd.concat(frames, ignore_index=True)
    requests["email"] = requests["email"].map(
        lambda e: None if not isinstance(e, str) or is_erased_email(e) else normalise_email(e))
    requests["contact_id"] = requests["contact_id"].map(
        lambda c: c.strip() if isinstance(c, str) and c.strip() else None)
    return requests.dropna(subset=["email", "contact_id"], how="all")


def pending_requests(warehouse: Warehouse) -> pd.DataFrame:
    """Erasure requests (email and/or contact_id, created_at) not carried out yet."""
    done = warehouse.read_table("erasure_log")
    hashes, ids = set(done["email_sha256"].dropna()), set(done["contact_id"].dropna())
    requests = _requests(warehouse)
    pending = [not ((isinstance(e, str) and email_sha256(e) in hashes)
                    or (isinstance(c, str) and c in ids))
               for e, c in zip(requests["email"], requests["contact_id"], strict=True)]
    return requests[pending].drop_duplicates(["email", "contact_id"]).reset_index(drop=True)


def apply_erasures(warehouse: Warehouse, out_dir: Path, now: datetime, run_id: str) -> dict:
    """Carry out every pending erasure request, all together: pseudonymise the warehouse
    (one read per table) and the out dir (one read per file), add the contacts' erasure to
    ``consent_suppressions``, log the proof (one row set per request). Rerunning does
    nothing more. A file that cannot be pseudonymised stops the requests it concerns, by
    name, after the others are done."""
    from cadence.handoff.consent import add_suppressions

    pending = pending_requests(warehouse)
    if pending.empty:
        return {"erasure_requests": 0}
    subjects = find_subjects(warehouse, [
        ({r.email} if isinstance(r.email, str) else set(),
         {r.contact_id} if isinstance(r.contact_id, str) else set())
        for r in pending.itertuples(index=False)])
    # Files first: one that cannot be pseudonymised stops its request before the
    # warehouse forgets whom to look for, so a retry still finds the person.
    files = erase_in_files(out_dir, subjects)
    stopped = [f for f in files if isinstance(f, ErasureError)]
    go = [n for n, f in enumerate(files) if isinstance(f, list)]
    requested = [pd.Timestamp(pending["created_at"].iloc[n]).to_pydatetime() for n in go]

    def log_proof(conn: sa.Connection, tables: list[dict[str, int]]) -> None:
        proof = [{"email_sha256": h, "contact_id": c, "requested_at": requested[k],
                  "erased_at": now, "run_id": run_id,
                  "tables": ", ".join(f"{t} ({n} rows)" for t, n in sorted(tables[k].items())),
                  "files": "\n".join(files[n])}
                 for k, n in enumerate(go)
                 for h in sorted({email_sha256(e) for e in subjects[n].emails}) or [None]
                 for c in sorted(subjects[n].contact_ids) or [None]]
        if proof:
            conn.execute(sa.text(
                f"insert into erasure_log ({', '.join(LOG_COLUMNS)})"
                f" values ({', '.join(':' + c for c in LOG_COLUMNS)})"), proof)

    tables = erase_in_warehouse(warehouse, [subjects[n] for n in go], then=log_proof)
    erasures = [(c, requested[k]) for k, n in enumerate(go)
                for c in sorted(subjects[n].contact_ids)]
    if erasures:
        add_suppressions(warehouse, pd.DataFrame({
            "email": None, "contact_id": [c for c, _ in erasures],
            "reason": "erasure", "scope": "all", "source": "erasure_log",
            "created_at": [pd.Timestamp(t) for _, t in erasures],
            "synced_at": pd.Timestamp(now)}))
    log.info("erasures carried out: %d requests, %d contact ids, %d table changes,"
             " %d file changes", len(go), len({c for c, _ in erasures}),
             sum(len(t) for t in tables), sum(len(files[n]) for n in go))
    if stopped:
        raise ErasureError("; ".join(str(e) for e in stopped))
    return {"erasure_requests": len(go)}
