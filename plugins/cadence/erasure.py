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
the request. :func:`reapply_erasures` runs at every extract, so a CRM that keeps sending
the contact loads pseudonyms only.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import html
import io
import json
import logging
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import idna
import pandas as pd
import sqlalchemy as sa

from cadence.errors import RetryCannotHelp
from cadence.quality.consent_rows import normalise_email
from cadence.warehouse import Warehouse

log = logging.getLogger(__name__)

ERASED = "[erased]"
ERASED_DOMAIN = "erased.invalid"
LOG_COLUMNS = {"email_sha256": "text", "contact_id": "text", "requested_at":
               "timestamp with time zone", "erased_at": "timestamp with time zone",
               "run_id": "text", "tables": "text", "files": "text"}
# Column names (and JSON keys) that hold a contact's personal data as a whole value.
PERSONAL = re.compile(r"^(?:contact_)?(?:email|first_name|last_name|full_name|name|phone)$"
                      r"|(?:^|_)comment$")
_EMAIL_COLUMN = re.compile(r"^(?:contact_)?email$")
_TEXT_TYPES = {"text", "varchar", "character varying", "character", "string"}
_JSON_PERSONAL = (r'"((?:contact_)?(?:first_name|last_name|full_name|name|phone)'
                  r'|[a-z_]*comment)"\s*:\s*"(?:[^"\\]|\\.)*"')
# An address under a personal key of the contact's own JSON that is not its pseudonym yet
# (a malformed copy validation quarantined).
_JSON_EMAIL = r'"((?:contact_)?email)"\s*:\s*"(?:[^"\\]|\\.)*"'
_REGEX_SPECIAL = set(r"\.^$|?*+()[]{}")


class ErasureError(RetryCannotHelp):
    """Something cadence wrote cannot be pseudonymised; the message names the file or table,
    never the personal data. Retrying cannot help until the file is dealt with."""


def email_sha256(email: str) -> str:
    """The proof kept of an erased address: SHA-256 of its normalised form."""
    return hashlib.sha256(str(normalise_email(email)).encode()).hexdigest()


def erased_email(email: str) -> str:
    """The irreversible pseudonym of an address."""
    return f"erased-{email_sha256(email)[:16]}@{ERASED_DOMAIN}"


def is_erased_email(value: object) -> bool:
    """Whether ``value`` is already a pseudonym."""
    return isinstance(value, str) and value.strip().lower().endswith("@" + ERASED_DOMAIN)


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
        for email in self.emails:
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


def find_subject(warehouse: Warehouse, emails: set[str], contact_ids: set[str]) -> Subject:
    """Everything the warehouse knows of the person behind ``emails`` / ``contact_ids``:
    every table with ``contact_id`` and ``email`` columns, and quarantined contact rows,
    widened once each way (an id's other addresses, an address's other ids)."""
    subject = Subject(set(contact_ids), {normalise_email(e) for e in emails})
    people = _people(warehouse)
    for _ in range(2):
        match = (people["contact_id"].isin(subject.contact_ids)
                 | people["email"].isin(subject.emails))
        subject.contact_ids |= set(people.loc[match, "contact_id"].dropna())
        subject.emails |= set(people.loc[match, "email"].dropna())
    mine = people[people["contact_id"].isin(subject.contact_ids)
                  | people["email"].isin(subject.emails)]
    subject.first_names |= {n.strip() for n in mine["first_name"].dropna() if n.strip()}
    subject.last_names |= {n.strip() for n in mine["last_name"].dropna() if n.strip()}
    subject.emails = {e for e in subject.emails if isinstance(e, str) and not is_erased_email(e)}
    subject.first_names.discard(ERASED)
    subject.last_names.discard(ERASED)
    return subject


def _people(warehouse: Warehouse) -> pd.DataFrame:
    columns = ["contact_id", "email", "first_name", "last_name"]
    frames = []
    for table, text in text_columns(warehouse).items():
        if {"contact_id", "email"} <= set(text):
            picked = ", ".join(c if c in text else f"null as {c}" for c in columns)
            frames.append(warehouse.read_frame(f"select {picked} from {_quote(table)}"))
    if "quarantine" in text_columns(warehouse):
        rows = warehouse.read_frame("select row from quarantine where entity = 'contacts'")
        frames.append(pd.DataFrame([json.loads(r) for r in rows["row"]]).reindex(
            columns=columns))
    if not frames:
        return pd.DataFrame(columns=columns)
    people = pd.concat([f.astype(object) for f in frames if len(f)] or frames,
                       ignore_index=True)
    people["email"] = people["email"].map(normalise_email, na_action="ignore")
    return people


def erase_in_warehouse(warehouse: Warehouse, subject: Subject,
                       then: Callable[[sa.Connection, dict[str, int]], None] | None = None,
                       skip: Iterable[str] = ("erasure_log",)) -> dict[str, int]:
    """Pseudonymise ``subject`` in every table (SQL updates, the same text on DuckDB and
    PostgreSQL) in one transaction, with ``then(conn, changed)`` (the proof) inside it:
    all or nothing, so a failed erasure is retried whole. Rows of the contact per table."""

    email_forms = subject.email_forms()
    everywhere = {**email_forms, **dict.fromkeys(subject.full_names, ERASED)}
    # A cell is the subject's when it holds an address, a pseudonym or a JSON contact_id;
    # a full name alone (someone else's comment about them) is replaced, not owned.
    own_probes = ({v.lower() for e in email_forms for v in _variants(e)}
                  | {t.lower() for t in email_forms.values()}
                  | {f'"contact_id": "{i}"'.lower() for i in subject.contact_ids})
    name_probes = {v.lower() for n in subject.full_names for v in _variants(n)}
    ids = {f"id{i}": v for i, v in enumerate(sorted(subject.contact_ids))}
    changed: dict[str, int] = {}
    statements: list[tuple[str, dict]] = []
    for table, columns in text_columns(warehouse).items():
        if table in skip or not columns:
            continue
        params: dict[str, str] = dict(ids)
        own = _any_contains(columns, own_probes, "o", params)
        if "contact_id" in columns and ids:
            own = f"{own} or contact_id in ({', '.join(':' + k for k in ids)})"
        hit = f"{own} or {_any_contains(columns, name_probes, 'n', params)}"
        count = warehouse.read_frame(
            f"select count(*) as n from {_quote(table)} where {hit}", params)["n"].iloc[0]
        if not count:
            continue
        statements += _replacements(table, columns, everywhere)
        statements.append(_own_rows(table, columns, subject, email_forms, own, params))
        changed[table] = int(count)
    with warehouse.engine.begin() as conn:
        for statement, values in statements:
            conn.execute(sa.text(statement), values)
        if then is not None:
            then(conn, changed)
    return changed


def _any_contains(columns: list[str], probes: set[str], prefix: str,
                  params: dict[str, str]) -> str:
    """SQL: any of ``columns`` holds any of ``probes`` (lower-case), bound in ``params``."""
    terms = []
    for i, probe in enumerate(sorted(probes)):
        params[f"{prefix}{i}"] = probe
        terms += [f"strpos(lower({_quote(c)}), :{prefix}{i}) > 0" for c in columns]
    return "(" + (" or ".join(terms) or "false") + ")"


def _replacements(table: str, columns: list[str], needles: dict[str, str]
                  ) -> list[tuple[str, dict]]:
    """Statements replacing each needle (every written form, any case) by its pseudonym
    in every column."""
    statements = []
    for needle, token in needles.items():
        variants = sorted(_variants(needle), key=len, reverse=True)
        pattern = "|".join(_regex_literal(v) for v in variants)
        # the prefix every written form shares finds the cells to rewrite
        probe = os.path.commonprefix([v.lower() for v in variants]) or needle.lower()
        for column in columns:
            c = _quote(column)
            statements.append((
                f"update {_quote(table)} set {c} = regexp_replace({c}, :pattern, :token, 'gi')"
                f" where strpos(lower({c}), :probe) > 0",
                {"pattern": pattern, "token": token, "probe": probe}))
    return statements


def _own_rows(table: str, columns: list[str], subject: Subject, email_forms: dict[str, str],
              own: str, params: dict[str, str]) -> tuple[str, dict]:
    """The statement that clears the subject's own rows: personal columns whole, first and
    last names as words, personal values inside JSON."""
    values = dict(params)
    values["token"] = next(iter(email_forms.values()), f"erased@{ERASED_DOMAIN}")
    values["json_personal"] = _JSON_PERSONAL
    values["json_email"] = _JSON_EMAIL
    values["erased_domain"] = "@" + ERASED_DOMAIN
    values["json_erased"] = '"\\1": "' + ERASED + '"'
    names = sorted(n for n in subject.first_names | subject.last_names if len(n) >= 2)
    # A name is a word: its neighbours are no letters or digits (RE2 has no lookaround).
    values["names"] = ("(^|[^[:alnum:]_])(" + "|".join(
        _regex_literal(v) for n in names for v in sorted(_variants(n), key=len, reverse=True))
        + ")($|[^[:alnum:]_])")
    values["name_erased"] = "\\1" + ERASED + "\\3"
    sets = []
    for column in columns:
        c = _quote(column)
        if _EMAIL_COLUMN.match(column):
            sets.append(f"{c} = case when {c} is null or lower({c}) like '%@{ERASED_DOMAIN}'"
                        f" then {c} else :token end")
        elif PERSONAL.match(column):
            sets.append(f"{c} = case when {c} is null then null else '{ERASED}' end")
        else:
            value = (f"case when strpos({c}, :erased_domain) > 0 then {c} else"
                     f" regexp_replace({c}, :json_email, :json_erased, 'g') end")
            value = f"regexp_replace({value}, :json_personal, :json_erased, 'g')"
            if names:
                # twice: a match consumes the blank a following name would start from
                for _ in range(2):
                    value = f"regexp_replace({value}, :names, :name_erased, 'gi')"
            sets.append(f"{c} = {value}")
    return f"update {_quote(table)} set {', '.join(sets)} where {own}", values


# -- files ------------------------------------------------------------------------------
def erase_in_files(out_dir: Path, subject: Subject) -> list[str]:
    """Pseudonymise ``subject`` in every file under ``out_dir``; the files changed,
    relative to it."""
    scrubber = Scrubber(subject)
    changed = []
    root = Path(out_dir)
    if not root.is_dir():
        return changed
    needles = [n.lower().encode() for n in subject.emails | subject.full_names]
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            if any(n in raw.lower() for n in needles):
                raise ErasureError(f"{path}: not UTF-8 text but holds the erased contact's "
                                   "data; cadence cannot pseudonymise it") from None
            continue
        suffix = path.suffix.lower()
        if suffix == ".ics":
            new = _scrub_ics(text, scrubber)
        elif suffix == ".csv":
            new = _scrub_csv(text, scrubber)
        elif suffix in (".jsonl", ".ndjson"):
            new = "".join(scrubber.scrub(line, scrubber.ties(line))
                          for line in text.splitlines(keepends=True))
        else:
            new = scrubber.scrub(text, tied=False)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(str(path.relative_to(root)))
    return changed


def _scrub_csv(text: str, scrubber: Scrubber) -> str:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n" if "\r\n" in text else "\n")
    for row in rows:
        joined = "\x1f".join(row)
        tied = scrubber.ties(joined) or any(f.strip() in scrubber.subject.contact_ids
                                            for f in row)
        writer.writerow([scrubber.scrub(f, tied) for f in row])
    return out.getvalue()


def _scrub_ics(text: str, scrubber: Scrubber) -> str:
    from icalendar import Calendar

    newline = "\r\n" if "\r\n" in text else "\n"
    unfolded = re.sub(r"\r?\n[ \t]", "", text)
    parts = re.split(r"(BEGIN:VEVENT.*?END:VEVENT)", unfolded, flags=re.DOTALL)
    scrubbed = "".join(scrubber.scrub(p, p.startswith("BEGIN:VEVENT")
                                      and (scrubber.ties(p) or scrubber.ties_by_id(p)))
                       for p in parts)
    if scrubbed == unfolded:
        return text
    try:
        return Calendar.from_ical(scrubbed).to_ical().decode("utf-8")
    except ValueError:
        return scrubbed.replace("\r\n", "\n").replace("\n", newline)


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
    warehouse.create_table("erasure_log", LOG_COLUMNS)
    done = warehouse.read_table("erasure_log")
    hashes, ids = set(done["email_sha256"].dropna()), set(done["contact_id"].dropna())
    requests = _requests(warehouse)
    pending = [not ((isinstance(e, str) and email_sha256(e) in hashes)
                    or (isinstance(c, str) and c in ids))
               for e, c in zip(requests["email"], requests["contact_id"], strict=True)]
    return requests[pending].drop_duplicates(["email", "contact_id"]).reset_index(drop=True)


def apply_erasures(warehouse: Warehouse, out_dir: Path, now: datetime, run_id: str) -> dict:
    """Carry out every pending erasure request: pseudonymise the warehouse and the out
    dir, add the contact's erasure to ``consent_suppressions``, log the proof. Rerunning
    does nothing more."""
    from cadence.handoff.consent import add_suppressions

    pending = pending_requests(warehouse)
    erased = 0
    for request in pending.itertuples(index=False):
        subject = find_subject(warehouse,
                               {request.email} if isinstance(request.email, str) else set(),
                               {request.contact_id} if isinstance(request.contact_id, str)
                               else set())
        # Files first: one that cannot be pseudonymised stops the erasure before the
        # warehouse forgets whom to look for, so a retry still finds the person.
        files = erase_in_files(out_dir, subject)
        hashes = sorted({email_sha256(e) for e in subject.emails}) or [None]
        ids = sorted(subject.contact_ids) or [None]

        def log_proof(conn: sa.Connection, tables: dict[str, int], hashes=hashes, ids=ids,
                      files=files, request=request) -> None:
            proof = [{"email_sha256": h, "contact_id": c,
                      "requested_at": pd.Timestamp(request.created_at).to_pydatetime(),
                      "erased_at": now, "run_id": run_id,
                      "tables": ", ".join(f"{t} ({n} rows)" for t, n in sorted(tables.items())),
                      "files": "\n".join(files)} for h in hashes for c in ids]
            conn.execute(sa.text(
                f"insert into erasure_log ({', '.join(LOG_COLUMNS)})"
                f" values ({', '.join(':' + c for c in LOG_COLUMNS)})"), proof)

        tables = erase_in_warehouse(warehouse, subject, then=log_proof)
        if subject.contact_ids:
            add_suppressions(warehouse, pd.DataFrame({
                "email": None, "contact_id": sorted(subject.contact_ids),
                "reason": "erasure", "scope": "all", "source": "erasure_log",
                "created_at": pd.Timestamp(request.created_at),
                "synced_at": pd.Timestamp(now)}))
        erased += 1
        log.info("erasure carried out: %d contact ids, %d tables, %d files changed",
                 len(subject.contact_ids), len(tables), len(files))
    return {"erasure_requests": erased}


def reapply_erasures(warehouse: Warehouse, frames: dict[str, pd.DataFrame]
                     ) -> dict[str, pd.DataFrame]:
    """Source frames (entity -> text columns) with every contact of ``erasure_log``
    pseudonymised again, before they reach ``raw_*``: rows with an erased ``contact_id``
    or an erased address lose their personal columns, erased addresses become pseudonyms."""
    if not warehouse.table_exists("erasure_log"):
        return frames
    done = warehouse.read_table("erasure_log")
    hashes, ids = set(done["email_sha256"].dropna()), set(done["contact_id"].dropna())
    if not hashes and not ids:
        return frames
    out = {}
    for name, frame in frames.items():
        emails = [c for c in frame.columns if _EMAIL_COLUMN.match(c)]
        erased_address = pd.Series(False, index=frame.index)
        for column in emails:
            erased_address |= frame[column].map(
                lambda v: isinstance(v, str) and email_sha256(v) in hashes).astype(bool)
        own = erased_address.copy()
        if "contact_id" in frame.columns:
            own |= frame["contact_id"].map(
                lambda v: isinstance(v, str) and v.strip() in ids).astype(bool)
        if not own.any():
            out[name] = frame
            continue
        frame = frame.copy()
        for column in frame.columns:
            present = own & frame[column].notna()
            if not present.any():
                continue
            if _EMAIL_COLUMN.match(column):
                frame.loc[present, column] = frame.loc[present, column].map(erased_email)
            elif PERSONAL.match(column):
                frame.loc[present, column] = ERASED
        out[name] = frame
        log.info("%s: %d rows of erased contacts pseudonymised at extract", name, int(own.sum()))
    return out
