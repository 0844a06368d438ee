"""Sample sources: every DESIGN §4 entity as ``<entity>.csv``, realistic and consistent.

A hidden health per account drives usage (level and 90-day trend), tickets, CSAT and NPS,
so the health score and the segments computed downstream have something real to find.
ARR sets the tier mix (a few strategic accounts, then enterprise, mid-market, SMB and a
long tech-touch tail), seats and contact counts; countries set timezones and locales.

About ``dirty_rate`` of the rows of every entity large enough to carry them are *extra*
broken rows, each a copy of a clean row with one defect validation must catch (missing
required field, duplicate id, malformed email, unknown timezone, out-of-range value,
reference to an unknown parent, unparseable date). They always come after the row they
copy, so "keep the first duplicate" keeps the clean one, and nothing clean refers to
them, so the clean rows stay fully consistent.

Everything is drawn from one seeded numpy generator and formatted by this module, so a
seed gives byte-identical files.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from cadence.contract.entities import ENTITIES, ENTITY_ORDER
from cadence.contract.tables import touch_id

USAGE_DAYS = 90
USAGE_CHUNK = 2_000  # accounts per generated block of usage rows
FEATURE_DAYS = 28
FEATURES = ("dashboards", "reports", "automations", "integrations", "api", "mobile", "sso",
            "exports")
TIERS = ("strategic", "enterprise", "mid_market", "smb", "tech_touch")
TIER_SHARE = (0.02, 0.08, 0.25, 0.35, 0.30)
TIER_ARR = ((500_000, 2_500_000), (150_000, 500_000), (30_000, 150_000), (5_000, 30_000),
            (500, 5_000))
TIER_SEATS = ((500, 3_000), (150, 800), (30, 200), (5, 40), (1, 10))
TIER_CONTACTS = ((8, 15), (6, 12), (3, 8), (2, 5), (2, 3))
TIER_PLAN = ("enterprise", "enterprise", "business", "team", "starter")
TIER_TICKETS = (6.0, 4.0, 2.0, 1.0, 0.4)  # tickets per account over 180 days at health 0.5

# country: (weight, timezones, locales)
COUNTRIES = {
    "US": (30, ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
           ("en-US",)),
    "GB": (12, ("Europe/London",), ("en-GB",)),
    "DE": (10, ("Europe/Berlin",), ("de-DE", "en-GB")),
    "FR": (7, ("Europe/Paris",), ("fr-FR",)),
    "NL": (5, ("Europe/Amsterdam",), ("nl-NL", "en-GB")),
    "CA": (6, ("America/Toronto", "America/Vancouver"), ("en-CA", "fr-CA")),
    "AU": (5, ("Australia/Sydney", "Australia/Melbourne"), ("en-AU",)),
    "JP": (4, ("Asia/Tokyo",), ("ja-JP",)),
    "BR": (4, ("America/Sao_Paulo",), ("pt-BR",)),
    "IN": (5, ("Asia/Kolkata",), ("en-IN",)),
    "ES": (4, ("Europe/Madrid",), ("es-ES",)),
    "SE": (3, ("Europe/Stockholm",), ("sv-SE", "en-GB")),
    "SG": (3, ("Asia/Singapore",), ("en-SG",)),
    "IE": (2, ("Europe/Dublin",), ("en-IE",)),
}
CALLING_CODES = {"US": 1, "GB": 44, "DE": 49, "FR": 33, "NL": 31, "CA": 1, "AU": 61, "JP": 81,
                 "BR": 55, "IN": 91, "ES": 34, "SE": 46, "SG": 65, "IE": 353}
MANAGER_SPAN = 6  # CSMs per team lead; lead 1 heads the other leads and has no manager
INDUSTRIES = ("software", "financial services", "healthcare", "retail", "manufacturing",
              "education", "media", "logistics", "public sector", "professional services")
NAME_FIRST = ("Northwind", "Contoso", "Fabrikam", "Globex", "Initech", "Umbrella", "Stark",
              "Wayne", "Acme", "Hooli", "Vandelay", "Soylent", "Tyrell", "Cyberdyne", "Wonka",
              "Aperture", "Gringotts", "Oscorp", "Massive", "Blue Sun", "Monarch", "Pied Piper")
NAME_SECOND = ("Labs", "Systems", "Analytics", "Logistics", "Health", "Capital", "Foods",
               "Energy", "Media", "Robotics", "Learning", "Retail", "Networks", "Partners")
FIRST_NAMES = ("Ana", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Hiro", "Isabel",
               "Jonas", "Kenji", "Laura", "Marco", "Nora", "Omar", "Priya", "Quentin", "Rosa",
               "Sven", "Tara", "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe", "Lucas", "Mia",
               "Noah", "Sofia", "Arjun", "Elena")
LAST_NAMES = ("Smith", "Müller", "García", "Rossi", "Dubois", "Jansen", "Tanaka", "Silva",
              "Patel", "Kowalski", "Andersson", "O'Brien", "Nguyen", "Kim", "Cohen", "Novak",
              "Schmidt", "Moreau", "Costa", "Fischer", "Lee", "Brown", "Wilson", "Sato")
ROLES = ("champion", "executive", "user", "billing", "admin")
CHAMPION_BOUNCE_EVERY = 40  # one account in this many: its primary contact bounces ...
CHAMPION_BOUNCE_DAYS = 3    # ... this many days before the sample's day
ROLE_WEIGHTS = (0.2, 0.15, 0.5, 0.1, 0.05)
NPS_COMMENTS = {
    "low": ("Too many bugs lately", "Support is slow", "Hard to roll out to the team"),
    "mid": ("Does the job", "Reporting could be better", "OK for now"),
    "high": ("Love the automations", "Great support team", "Saves us hours every week"),
}


def write_sample(
    out: Path, accounts: int, seed: int, as_of: date, dirty_rate: float = 0.01
) -> dict[str, int]:
    """Write every DESIGN §4 entity as ``<entity>.csv`` in ``out``; rows per entity.

    ``accounts`` clean accounts with ``as_of`` the last day of data; ``dirty_rate`` of extra
    broken rows per entity (see the module docstring). Same arguments, same bytes.
    """
    if accounts < 1:
        raise ValueError("accounts must be at least 1")
    if not 0 <= dirty_rate < 1:
        raise ValueError("dirty_rate must be in [0, 1)")
    frames, usage_chunks = _build(accounts, seed, as_of, dirty_rate)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for name in ENTITY_ORDER:
        path = out / f"{name}.csv"
        if name == "usage_daily":
            # The largest entity is written in account chunks to keep memory flat.
            counts[name] = 0
            for number, chunk in enumerate(usage_chunks):
                chunk.to_csv(path, index=False, lineterminator="\n", mode="w" if number == 0
                             else "a", header=number == 0)
                counts[name] += len(chunk)
            continue
        frames[name].to_csv(path, index=False, lineterminator="\n")
        counts[name] = len(frames[name])
    return counts


def generate_sample(accounts: int, seed: int, as_of: date,
                    dirty_rate: float = 0.01) -> dict[str, pd.DataFrame]:
    """Every entity as a frame of strings (NULL for empty), dirty rows included: the
    content of the files :func:`write_sample` writes."""
    frames, usage_chunks = _build(accounts, seed, as_of, dirty_rate)
    frames["usage_daily"] = pd.concat(list(usage_chunks), ignore_index=True)
    return {name: frames[name] for name in ENTITY_ORDER}


def _build(accounts: int, seed: int, as_of: date, dirty_rate: float
           ) -> tuple[dict[str, pd.DataFrame], Iterator[pd.DataFrame]]:
    rng = np.random.default_rng(seed)
    world = _accounts(rng, accounts, as_of)
    csms = _csms(rng, world)
    contacts = _contacts(rng, world)
    clean = {
        "csms": csms,
        "accounts": world.frame,
        "contacts": contacts.frame,
        "support_tickets": _tickets(rng, world, contacts),
        "nps_responses": _nps(rng, world, contacts),
        "preferences": _preferences(rng, world, contacts),
        "suppressions": _suppressions(rng, world, contacts),
        "campaigns": _campaigns(as_of),
        "engagement_events": _engagement(rng, world, contacts),
    }
    frames = {}
    for name, frame in clean.items():
        frames[name] = _with_dirty_rows(rng, name, frame, dirty_rate)[
            ENTITIES[name].column_names]
    return frames, _usage_chunks(world, seed, dirty_rate)


def _usage_chunks(world: _World, seed: int, dirty_rate: float) -> Iterator[pd.DataFrame]:
    columns = ENTITIES["usage_daily"].column_names
    for number, start in enumerate(range(0, len(world.ids), USAGE_CHUNK)):
        # Each chunk has its own stream, so chunks can be produced one at a time.
        rng = np.random.default_rng([seed, number])
        accounts = slice(start, start + USAGE_CHUNK)
        chunk = _usage(rng, world, accounts)
        yield _with_dirty_rows(rng, "usage_daily", chunk, dirty_rate)[columns]


# -- helpers ---------------------------------------------------------------------------


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    return np.array([f"{prefix}-{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def _pick(rng: np.random.Generator, values, n: int, p=None) -> np.ndarray:
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=p)]


def _timestamps(seconds: np.ndarray) -> np.ndarray:
    """ISO-8601 UTC strings (``...Z``) for epoch seconds."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    return np.char.add(text.astype(str), "Z").astype(object)


def _dates(days: np.ndarray) -> np.ndarray:
    """ISO dates for epoch days."""
    return np.datetime_as_string(days.astype("datetime64[D]"), unit="D").astype(object)


def _epoch_day(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def _ascii_slug(name: str) -> str:
    """``Müller`` -> ``muller``, ``O'Brien`` -> ``obrien``: mailbox names stay plain ASCII."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _text(values: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    """Numbers as strings, NULL where ``missing``."""
    out = values.astype(str).astype(object)
    if missing is not None:
        out[missing] = None
    return out


@dataclass
class _World:
    """The clean accounts and the hidden facts that drive the other entities."""

    frame: pd.DataFrame
    as_of: date
    ids: np.ndarray
    tier: np.ndarray  # index into TIERS
    country: np.ndarray
    timezone: np.ndarray
    health: np.ndarray  # hidden, 0..1
    trend: np.ndarray  # utilisation change per day over the usage window
    seats: np.ndarray
    start_day: np.ndarray  # epoch day of contract_start
    end_day: np.ndarray  # epoch day usage stops (as_of for live accounts)
    csm: np.ndarray  # csm id or None
    n_csms: int


def _accounts(rng: np.random.Generator, n: int, as_of: date) -> _World:
    today = _epoch_day(as_of)
    ids = _ids("acc", n, max(6, len(str(n))))
    tier = rng.choice(len(TIERS), size=n, p=TIER_SHARE)
    lo = np.array([r[0] for r in TIER_ARR])[tier]
    hi = np.array([r[1] for r in TIER_ARR])[tier]
    arr = np.exp(rng.uniform(np.log(lo), np.log(hi)))
    seats_lo = np.array([r[0] for r in TIER_SEATS])[tier]
    seats_hi = np.array([r[1] for r in TIER_SEATS])[tier]
    seats = rng.integers(seats_lo, seats_hi + 1)

    countries = list(COUNTRIES)
    weights = np.array([COUNTRIES[c][0] for c in countries], dtype=float)
    country = _pick(rng, countries, n, weights / weights.sum())
    timezone = np.array(
        [COUNTRIES[c][1][k % len(COUNTRIES[c][1])] for c, k in
         zip(country, rng.integers(0, 12, n), strict=True)], dtype=object)

    status = _pick(rng, ("active", "trial", "churned"), n, (0.93, 0.03, 0.04))
    trial = status == "trial"
    churned = status == "churned"
    arr[trial] = 0.0
    tier[trial] = TIERS.index("tech_touch")
    health = rng.beta(4, 2, n)
    health[churned] = rng.beta(1.5, 5, churned.sum())
    trend = rng.normal(0, 0.002, n) + (health - 0.6) * 0.003

    # 10% onboarding (started in the last 90 days), the rest 3 months to 4 years ago.
    onboarding = ((rng.random(n) < 0.10) | trial) & ~churned
    age = np.where(onboarding, rng.integers(1, 90, n), rng.integers(90, 4 * 365, n))
    # Churned accounts left at their last renewal, so they had a whole first year.
    age[churned] = rng.integers(400, 4 * 365, churned.sum())
    start_day = today - age
    # Yearly contracts renew on the anniversary; trials end after 30 days.
    years_done = (age // 365) + 1
    renewal_day = start_day + years_done * 365
    renewal_day[trial] = start_day[trial] + 30
    renewal_day[churned] = start_day[churned] + (age[churned] // 365) * 365
    days_to_renewal = renewal_day - today
    renewal_status = np.full(n, "open", dtype=object)
    near = (days_to_renewal <= 90) & ~churned & ~trial
    roll = rng.random(n)
    renewal_status[near & (roll < 0.25)] = "committed"
    renewal_status[near & (roll >= 0.25) & (roll < 0.35)] = "renewed"
    renewal_status[churned] = "lost"
    end_day = np.where(churned, renewal_day, today)

    n_csms = max(1, math.ceil(n / 40))
    csm_ids = _ids("csm", n_csms, 4)
    has_csm = (tier <= TIERS.index("mid_market")) | (
        (tier == TIERS.index("smb")) & (rng.random(n) < 0.5))
    csm = np.where(has_csm, csm_ids[rng.integers(0, n_csms, n)], None)

    names = np.char.add(
        np.char.add(_pick(rng, NAME_FIRST, n).astype(str), " "),
        _pick(rng, NAME_SECOND, n).astype(str))
    names = np.char.add(np.char.add(names, " "), np.arange(1, n + 1).astype(str))
    updated = (today - rng.integers(0, 30, n)) * 86400 + rng.integers(0, 86400, n)

    frame = pd.DataFrame({
        "account_id": ids,
        "name": names.astype(object),
        "industry": _pick(rng, INDUSTRIES, n),
        "country": country,
        "timezone": timezone,
        "arr": np.char.mod("%.2f", arr).astype(object),
        "plan": np.asarray(TIER_PLAN, dtype=object)[tier],
        "csm_id": csm,
        "contract_start": _dates(start_day),
        "renewal_date": _dates(renewal_day),
        "seats_purchased": _text(seats),
        "status": status,
        "renewal_status": renewal_status,
        "updated_at": _timestamps(updated),
    })
    return _World(frame, as_of, ids, tier, country, timezone, health, trend, seats, start_day,
                  end_day, csm, n_csms)


def _csms(rng: np.random.Generator, world: _World) -> pd.DataFrame:
    n = world.n_csms
    first = _pick(rng, FIRST_NAMES, n).astype(str)
    last = _pick(rng, LAST_NAMES, n).astype(str)
    number = np.arange(1, n + 1).astype(str)
    email = np.char.add(np.char.add(np.char.add(np.char.lower(first), "."), number),
                        "@cadence-vendor.example")
    return pd.DataFrame({
        "csm_id": _ids("csm", n, 4),
        "name": np.char.add(np.char.add(first, " "), last).astype(object),
        "email": email.astype(object),
        "timezone": _pick(rng, ("Europe/London", "America/New_York", "Europe/Berlin",
                                "America/Los_Angeles", "Asia/Singapore"), n),
        "weekly_capacity": _text(rng.integers(20, 41, n)),
        "manager_id": _managers(n),
    })


def _managers(n: int) -> np.ndarray:
    """Team leads are the first CSMs, one per MANAGER_SPAN; every other CSM reports to a
    lead and the leads to lead 1, who has none (their escalations go to policy's queue)."""
    ids = _ids("csm", n, 4)
    leads = max(1, math.ceil(n / MANAGER_SPAN))
    manager = np.array([ids[k % leads] if k >= leads else ids[0] for k in range(n)],
                       dtype=object)
    manager[0] = None
    return manager


@dataclass
class _Contacts:
    frame: pd.DataFrame
    ids: np.ndarray
    account: np.ndarray  # index of the contact's account
    email: np.ndarray


def _contacts(rng: np.random.Generator, world: _World) -> _Contacts:
    n_accounts = len(world.ids)
    lo = np.array([r[0] for r in TIER_CONTACTS])[world.tier]
    hi = np.array([r[1] for r in TIER_CONTACTS])[world.tier]
    per_account = rng.integers(lo, hi + 1)
    account = np.repeat(np.arange(n_accounts), per_account)
    n = len(account)
    first_of_account = np.r_[True, account[1:] != account[:-1]]
    ids = _ids("con", n, max(7, len(str(n))))
    first = _pick(rng, FIRST_NAMES, n).astype(str)
    last_index = rng.choice(len(LAST_NAMES), size=n)
    last = np.asarray(LAST_NAMES)[last_index]
    slug = np.array([_ascii_slug(x) for x in LAST_NAMES])[last_index]
    local = np.char.add(np.char.add(np.char.lower(first), "."), slug)
    local = np.char.add(np.char.add(local, "."), np.arange(1, n + 1).astype(str))
    domain = np.char.add(np.char.add("customer-", world.ids[account].astype(str)), ".example")
    email = np.char.add(np.char.add(local, "@"), domain).astype(object)

    role = _pick(rng, ROLES, n, ROLE_WEIGHTS)
    role[first_of_account] = "admin"
    country = world.country[account]
    locale = np.array([COUNTRIES[c][2][k % len(COUNTRIES[c][2])] for c, k in
                       zip(country, rng.integers(0, 6, n), strict=True)], dtype=object)
    # Most contacts sit in their account's zone, some elsewhere in the country, some unset.
    timezone = world.timezone[account].copy()
    roll = rng.random(n)
    elsewhere = roll < 0.10
    timezone[elsewhere] = [COUNTRIES[c][1][k % len(COUNTRIES[c][1])] for c, k in
                           zip(country[elsewhere], rng.integers(0, 12, elsewhere.sum()),
                               strict=True)]
    timezone[roll > 0.88] = None
    # Numbers in the fictional 555 range, derived from the row (no draw, so the other
    # entities' random streams stay as they were); one contact in seven has none.
    number = np.arange(n)
    phone = np.array([f"+{CALLING_CODES[c]} 555 {k % 10_000:04d} {k // 10_000 % 1000:03d}"
                      for c, k in zip(country, number * 7_919 + 1_234, strict=True)],
                     dtype=object)
    phone[number % 7 == 3] = None
    updated = (_epoch_day(world.as_of) - rng.integers(0, 60, n)) * 86400 + rng.integers(
        0, 86400, n)
    frame = pd.DataFrame({
        "contact_id": ids,
        "account_id": world.ids[account],
        "email": email,
        "first_name": first.astype(object),
        "last_name": last.astype(object),
        "role": role,
        "locale": locale,
        "timezone": timezone,
        "is_primary": np.where(first_of_account, "true", "false").astype(object),
        "phone": phone,
        "updated_at": _timestamps(updated),
    })
    return _Contacts(frame, ids, account, email)


def _usage(rng: np.random.Generator, world: _World, accounts: slice) -> pd.DataFrame:
    today = _epoch_day(world.as_of)
    ids = world.ids[accounts]
    health = world.health[accounts]
    seats = world.seats[accounts]
    n = len(ids)
    offset = np.arange(USAGE_DAYS) - (USAGE_DAYS - 1)  # -89 .. 0
    day = today + offset  # (days,)
    live = ((day[None, :] >= world.start_day[accounts, None])
            & (day[None, :] <= world.end_day[accounts, None]))
    base = 0.15 + 0.75 * health
    util = base[:, None] + world.trend[accounts, None] * offset[None, :]
    util = util + rng.normal(0, 0.05, (n, USAGE_DAYS))
    weekday = (day + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    util = util * np.where(weekday >= 5, 0.25, 1.0)[None, :]
    # Accounts that went quiet: nobody logged in for the last three weeks.
    quiet = health < 0.12
    util[quiet[:, None] & (offset[None, :] > -21)] = 0.0
    util = np.clip(util, 0, 1.0)
    active = np.rint(util * seats[:, None]).astype(np.int64)
    logins = np.rint(active * rng.uniform(1.0, 3.0, (n, USAGE_DAYS))).astype(np.int64)
    events = np.rint(logins * rng.uniform(5, 30, (n, USAGE_DAYS))).astype(np.int64)
    seat_share = np.clip(base + rng.normal(0.15, 0.1, n), 0.05, 1.02)
    seats_used = np.minimum(np.ceil(seat_share * seats), seats + 5).astype(np.int64)
    seats_used = np.maximum(seats_used[:, None], active)

    rows_a, rows_d = np.nonzero(live)
    total = pd.DataFrame({
        "account_id": ids[rows_a],
        "usage_date": _dates(day[rows_d]),
        "active_users": _text(active[rows_a, rows_d]),
        "logins": _text(logins[rows_a, rows_d]),
        "events": _text(events[rows_a, rows_d]),
        "feature": None,
        "seats_used": _text(seats_used[rows_a, rows_d]),
    })

    # Per-feature rows over the last four weeks: healthier accounts use more features.
    n_features = np.clip(np.rint(1 + health * 6 + rng.normal(0, 1, n)), 1,
                         len(FEATURES)).astype(int)
    order = rng.random((n, len(FEATURES))).argsort(axis=1)
    uses = np.zeros((n, len(FEATURES)), dtype=bool)
    np.put_along_axis(uses, order, np.arange(len(FEATURES))[None, :] < n_features[:, None],
                      axis=1)
    recent = live & (offset[None, :] > -FEATURE_DAYS)
    mask = recent[:, :, None] & uses[:, None, :] & (active[:, :, None] > 0)
    fa, fd, ff = np.nonzero(mask)
    share = rng.uniform(0.1, 0.9, len(fa))
    by_feature = pd.DataFrame({
        "account_id": ids[fa],
        "usage_date": _dates(day[fd]),
        "active_users": _text(np.ceil(active[fa, fd] * share).astype(np.int64)),
        "logins": _text(np.ceil(logins[fa, fd] * share).astype(np.int64)),
        "events": _text(np.ceil(events[fa, fd] * share).astype(np.int64)),
        "feature": np.asarray(FEATURES, dtype=object)[ff],
        "seats_used": None,
    })
    return pd.concat([total, by_feature], ignore_index=True)


def _tickets(rng: np.random.Generator, world: _World, contacts: _Contacts) -> pd.DataFrame:
    today = _epoch_day(world.as_of)
    rate = np.array(TIER_TICKETS)[world.tier] * (1.6 - world.health) / 1.1
    per_account = rng.poisson(rate)
    account = np.repeat(np.arange(len(world.ids)), per_account)
    n = len(account)
    health = world.health[account]
    opened = (today - rng.integers(0, 180, n)) * 86400 + rng.integers(0, 86400, n)
    opened = np.maximum(opened, world.start_day[account] * 86400)
    priority = np.where(rng.random(n) < 0.25 * (1 - health), "p1",
                        _pick(rng, ("p2", "p3", "p4"), n, (0.25, 0.45, 0.30))).astype(object)
    age_days = today - opened // 86400
    still_open = (age_days < 10) & (rng.random(n) < 0.6)
    status = np.where(still_open, _pick(rng, ("open", "pending"), n, (0.7, 0.3)), "closed")
    closed = opened + rng.exponential(2.5 * 86400, n).astype(np.int64) + 600
    closed = np.minimum(closed, today * 86400 + 86399)
    csat = np.clip(np.rint(1 + 4 * health + rng.normal(0, 0.8, n)), 1, 5).astype(np.int64)
    rated = (~still_open) & (rng.random(n) < 0.7)
    contact = _contact_of(rng, contacts, account)
    contact[rng.random(n) < 0.1] = None
    return pd.DataFrame({
        "ticket_id": _ids("tkt", n, max(7, len(str(n)))),
        "account_id": world.ids[account],
        "contact_id": contact,
        "opened_at": _timestamps(opened),
        "closed_at": np.where(still_open, None, _timestamps(closed)),
        "priority": priority,
        "status": status.astype(object),
        "csat": _text(csat, ~rated),
    })


def _contact_of(rng: np.random.Generator, contacts: _Contacts, account: np.ndarray) -> np.ndarray:
    """A random contact of each given account (contacts are grouped by account)."""
    starts = np.searchsorted(contacts.account, np.arange(contacts.account.max() + 1))
    counts = np.bincount(contacts.account)
    pick = starts[account] + (rng.random(len(account)) * counts[account]).astype(np.int64)
    return contacts.ids[pick].copy()


def _nps(rng: np.random.Generator, world: _World, contacts: _Contacts) -> pd.DataFrame:
    today = _epoch_day(world.as_of)
    responds = np.nonzero(rng.random(len(contacts.ids)) < 0.3)[0]
    n = len(responds)
    health = world.health[contacts.account[responds]]
    score = np.clip(np.rint(10 * health + rng.normal(0.5, 1.5, n)), 0, 10).astype(np.int64)
    # A few answered in the last two days: fresh promoters and detractors to act on.
    ago = np.where(rng.random(n) < 0.04, rng.integers(0, 2 * 86400, n),
                   rng.integers(2 * 86400, 180 * 86400, n))
    responded = today * 86400 + 86399 - ago
    band = np.where(score <= 6, "low", np.where(score <= 8, "mid", "high"))
    comment = np.array([NPS_COMMENTS[b][k % 3] for b, k in
                        zip(band, rng.integers(0, 3, n), strict=True)], dtype=object)
    comment[rng.random(n) < 0.5] = None
    return pd.DataFrame({
        "response_id": _ids("nps", n, max(7, len(str(n)))),
        "contact_id": contacts.ids[responds],
        "score": _text(score),
        "responded_at": _timestamps(responded),
        "comment": comment,
    })


def _preferences(rng: np.random.Generator, world: _World, contacts: _Contacts) -> pd.DataFrame:
    categories = ("educational", "relationship", "promotional", "operational")
    channels = ("email", "in_app", "sms", "call")
    who = np.nonzero(rng.random(len(contacts.ids)) < 0.4)[0]
    how_many = rng.integers(1, 4, len(who))
    combos = rng.random((len(who), len(categories) * len(channels))).argsort(axis=1)[:, :3]
    keep = np.arange(3)[None, :] < how_many[:, None]
    rows, slot = np.nonzero(keep)
    combo = combos[rows, slot]
    n = len(rows)
    frequency = _pick(rng, ("as_sent", "weekly", "biweekly", "monthly", "quarterly", "never"), n,
                      (0.3, 0.2, 0.1, 0.2, 0.1, 0.1))
    updated = (_epoch_day(world.as_of) - rng.integers(0, 365, n)) * 86400 + rng.integers(
        0, 86400, n)
    return pd.DataFrame({
        "contact_id": contacts.ids[who[rows]],
        "category": np.asarray(categories, dtype=object)[combo // len(channels)],
        "channel": np.asarray(channels, dtype=object)[combo % len(channels)],
        "frequency": frequency,
        "updated_at": _timestamps(updated),
    })


def _suppressions(rng: np.random.Generator, world: _World, contacts: _Contacts) -> pd.DataFrame:
    reasons = ("unsubscribe", "bounce", "spam_report", "erasure", "do_not_contact")
    scope_of = {"unsubscribe": ("marketing", "all"), "bounce": ("email",),
                "spam_report": ("email", "marketing"), "erasure": ("all",),
                "do_not_contact": ("all",)}
    roll = rng.random(len(contacts.ids))
    # unsubscribe 2%, bounce 1%, spam report 0.3%, erasure 0.2%, do not contact 0.3%
    bounds = np.cumsum([0.02, 0.01, 0.003, 0.002, 0.003])
    kind = np.searchsorted(bounds, roll, side="right")
    who = np.nonzero(kind < len(reasons))[0]
    reason = np.asarray(reasons, dtype=object)[kind[who]]
    n = len(who)
    scope = np.array([scope_of[r][k % len(scope_of[r])] for r, k in
                      zip(reason, rng.integers(0, 2, n), strict=True)], dtype=object)
    email = contacts.email[who].copy()
    contact = contacts.ids[who].copy()
    # Provider feedback knows only the address; erasures keep only the id.
    email_only = np.isin(reason, ("bounce", "spam_report")) & (rng.random(n) < 0.7)
    contact[email_only] = None
    email[reason == "erasure"] = None
    created = (_epoch_day(world.as_of) - rng.integers(0, 365, n)) * 86400 + rng.integers(
        0, 86400, n)
    # A champion change to see: the primary contact of every CHAMPION_BOUNCE_EVERY-th
    # account started to bounce CHAMPION_BOUNCE_DAYS ago (after the demo's past night).
    first = np.r_[True, contacts.account[1:] != contacts.account[:-1]]
    gone = np.nonzero(first & (contacts.account % CHAMPION_BOUNCE_EVERY == 3))[0]
    bounced_at = (_epoch_day(world.as_of) - CHAMPION_BOUNCE_DAYS) * 86400 + 9 * 3600
    return pd.DataFrame({
        "email": np.r_[email, contacts.email[gone]],
        "contact_id": np.r_[contact, np.full(len(gone), None, dtype=object)],
        "reason": np.r_[reason, np.full(len(gone), "bounce", dtype=object)],
        "scope": np.r_[scope, np.full(len(gone), "email", dtype=object)],
        "created_at": _timestamps(np.r_[created, np.full(len(gone), bounced_at)]),
    })


def _campaigns(as_of: date) -> pd.DataFrame:
    """This month's campaigns (windows from ``as_of``) and last month's editions of them,
    four weeks earlier: a plan of the past month (the demo replays one before ``as_of``)
    has the same newsletters, offers and webinars to send."""
    columns = ["campaign_id", "team", "message_type", "channel", "template_id", "audience",
               "window_start", "window_end", "intent", "priority", "event_at", "approved"]
    last_month = (as_of.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    rows = [*_campaign_month(as_of - timedelta(days=28), last_month),
            *_campaign_month(as_of, as_of.strftime("%Y-%m"))]
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    frame["priority"] = frame["priority"].astype(str)
    return frame


def _campaign_month(start: date, month: str) -> list[tuple]:
    def at(days: int, hour: int = 0) -> str:
        moment = datetime.combine(start + timedelta(days=days), time(hour))
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    webinar_at = at(14, 16)
    return [
        ("cmp-newsletter-" + month, "marketing", "educational", "email",
         "tpl-newsletter", "all", at(0), at(27), "newsletter-" + month, 40, None, "true"),
        ("cmp-product-update-" + month, "product", "operational", "email",
         "tpl-product-update", "all", at(2), at(12), "product-update-" + month, 55, None,
         "true"),
        ("cmp-product-update-inapp-" + month, "product", "operational", "in_app",
         "tpl-product-update-inapp", "all", at(2), at(12), "product-update-inapp-" + month, 50,
         None, "true"),
        ("cmp-release-notes-" + month, "marketing", "educational", "email",
         "tpl-release-notes", "mid_market or smb", at(3), at(12), "product-update-" + month,
         45, None, "true"),
        ("cmp-webinar-" + month, "marketing", "educational", "email", "tpl-webinar-invite",
         "mid_market or smb or tech_touch", at(0), webinar_at, None, 50, webinar_at, "true"),
        ("cmp-upgrade-offer-" + month, "sales", "promotional", "email", "tpl-upgrade-offer",
         "(smb or mid_market) and not at_risk", at(5), at(20), None, 30, None, "true"),
        ("cmp-admin-security-" + month, "support", "operational", "email",
         "tpl-admin-security", "role:admin", at(1), at(8), None, 70, None, "true"),
        ("cmp-exec-briefing-" + month, "leadership", "relationship", "email",
         "tpl-exec-briefing", "(strategic or enterprise) and role:executive", at(7), at(21),
         None, 60, None, "true"),
        ("cmp-renewal-webinar-" + month, "cs", "relationship", "email", "tpl-renewal-tips",
         "renewal and not churned", at(4), at(18), None, 55, None, "true"),
        ("cmp-advocacy-" + month, "marketing", "promotional", "email", "tpl-case-study-ask",
         "promoter and not at_risk", at(6), at(25), None, 35, None, "false"),
        ("cmp-winback-" + month, "sales", "promotional", "email", "tpl-winback",
         "inactive and not churned", at(10), at(24), None, 25, None, "false"),
        # SMS is for the urgent only (planner.sms_classes): support's security notice to
        # strategic admins goes by SMS; marketing's webinar reminder asked for SMS is refused.
        ("cmp-security-sms-" + month, "support", "transactional", "sms", "tpl-security-sms",
         "strategic and role:admin", at(1), at(2), None, 90, None, "true"),
        ("cmp-webinar-sms-" + month, "marketing", "educational", "sms", "tpl-webinar-sms",
         "strategic and role:admin", at(1), at(8), None, 45, None, "true"),
    ]


def _engagement(rng: np.random.Generator, world: _World, contacts: _Contacts) -> pd.DataFrame:
    """Events of last month's newsletter and product update, sent to about a third of the
    contacts: delivered, then some opens and clicks, a few bounces and unsubscribes."""
    frames = []
    for sent_days_ago, campaign in ((21, "newsletter"), (9, "product-update")):
        sent_day = world.as_of - timedelta(days=sent_days_ago)
        who = np.nonzero(rng.random(len(contacts.ids)) < 0.35)[0]
        n = len(who)
        touch = np.array([touch_id(c, f"cmp-{campaign}", sent_day) for c in contacts.ids[who]],
                         dtype=object)
        message = np.char.add(f"sg-{campaign}-", np.char.mod("%08d", who)).astype(object)
        sent = _epoch_day(sent_day) * 86400 + 9 * 3600 + rng.integers(0, 3600, n)
        health = world.health[contacts.account[who]]
        outcome = rng.random(n)
        bounced = outcome < 0.015
        opened = ~bounced & (rng.random(n) < 0.2 + 0.4 * health)
        clicked = opened & (rng.random(n) < 0.3)
        unsubscribed = opened & (rng.random(n) < 0.01)
        parts = [
            (~bounced, "delivered", 60),
            (bounced, "bounce", 90),
            (opened, "open", 3600 * 6),
            (clicked, "click", 3600 * 8),
            (unsubscribed, "unsubscribe", 3600 * 9),
        ]
        for mask, event, delay in parts:
            k = int(mask.sum())
            frames.append(pd.DataFrame({
                "provider": "sendgrid",
                "provider_message_id": message[mask],
                "touch_id": touch[mask],
                "event": event,
                "occurred_at": _timestamps(sent[mask] + delay + rng.integers(0, 3600, k)),
            }))
    return pd.concat(frames, ignore_index=True)


# -- dirty rows --------------------------------------------------------------------------

Defect = Callable[[pd.DataFrame, np.ndarray], None]


def _set(column: str, value: str | None) -> Defect:
    def apply(frame: pd.DataFrame, fresh: np.ndarray) -> None:
        frame[column] = value
    return apply


def _fresh_key(column: str) -> Defect:
    """Give the copies new ids so nothing clean points at them and they are no duplicates."""
    def apply(frame: pd.DataFrame, fresh: np.ndarray) -> None:
        frame[column] = fresh
    return apply


def _chain(*steps: Defect) -> Defect:
    def apply(frame: pd.DataFrame, fresh: np.ndarray) -> None:
        for step in steps:
            step(frame, fresh)
    return apply


def _same(frame: pd.DataFrame, fresh: np.ndarray) -> None:
    """A duplicate: the copy keeps the original key."""


def _defects(entity: str) -> dict[str, Defect]:
    """Per entity, each kind of broken row it can carry (the copy gets the defect)."""
    key = {"accounts": "account_id", "contacts": "contact_id", "support_tickets": "ticket_id",
           "nps_responses": "response_id", "csms": "csm_id"}.get(entity)

    def fresh(*steps: Defect) -> Defect:
        return _chain(_fresh_key(key), *steps) if key else _chain(*steps)

    table: dict[str, dict[str, Defect]] = {
        "csms": {"missing_required": fresh(_set("name", None)),
                 "malformed_email": fresh(_set("email", "csm.at.vendor.example"))},
        "accounts": {
            "missing_required": fresh(_set("name", None)),
            "duplicate_id": _same,
            "out_of_range": fresh(_set("arr", "-1200.00")),
            "unparseable_date": fresh(_set("contract_start", "31/12/2025")),
            "unknown_timezone": fresh(_set("timezone", "Europe/Springfield")),
            "unknown_country": fresh(_set("country", "UK")),
        },
        "contacts": {
            "missing_required": fresh(_set("email", None)),
            "duplicate_id": _same,
            "malformed_email": fresh(_set("email", "jordan.smith at example.com")),
            "unknown_timezone": fresh(_set("timezone", "America/Gotham")),
            "unknown_parent": fresh(_set("account_id", "acc-unknown")),
            "unparseable_date": fresh(_set("updated_at", "last tuesday")),
        },
        "usage_daily": {
            "missing_required": _set("active_users", None),
            "out_of_range": _set("active_users", "-3"),
            "unknown_parent": _set("account_id", "acc-unknown"),
            "unparseable_date": _set("usage_date", "2026-02-30"),
            "duplicate_id": _same,
        },
        "support_tickets": {
            "missing_required": fresh(_set("opened_at", None)),
            "duplicate_id": _same,
            "out_of_range": fresh(_set("csat", "7")),
            "unknown_parent": fresh(_set("account_id", "acc-unknown")),
            "unparseable_date": fresh(_set("opened_at", "2026-13-01T10:00:00Z")),
        },
        "nps_responses": {
            "missing_required": fresh(_set("score", None)),
            "duplicate_id": _same,
            "out_of_range": fresh(_set("score", "11")),
            "unknown_parent": fresh(_set("contact_id", "con-unknown")),
        },
        "preferences": {
            "missing_required": _set("frequency", None),
            "out_of_range": _set("frequency", "hourly"),
            "unknown_parent": _set("contact_id", "con-unknown"),
        },
        "suppressions": {
            "missing_required": _chain(_set("email", None), _set("contact_id", None)),
            "malformed_email": _set("email", "bounced@@example"),
            "unparseable_date": _set("created_at", "n/a"),
        },
        "campaigns": {"missing_required": fresh(_set("template_id", None))},
        "engagement_events": {
            "missing_required": _set("provider_message_id", None),
            "out_of_range": _set("event", "opened_twice"),
            "unparseable_date": _set("occurred_at", "2026-11-31T08:00:00Z"),
        },
    }
    return table[entity]


def _with_dirty_rows(rng: np.random.Generator, entity: str, clean: pd.DataFrame,
                     dirty_rate: float) -> pd.DataFrame:
    """``clean`` plus about ``dirty_rate`` of broken copies, each placed after its original."""
    n_dirty = int(round(dirty_rate * len(clean)))
    if n_dirty == 0:
        return clean.reset_index(drop=True)
    defects = _defects(entity)
    kinds = list(defects)
    source = np.sort(rng.choice(len(clean), size=n_dirty, replace=False))
    kind = np.arange(n_dirty) % len(kinds)
    copies = []
    for k, name in enumerate(kinds):
        rows = source[kind == k]
        if not len(rows):
            continue
        copy = clean.iloc[rows].copy()
        fresh = np.array([f"{entity[:3]}-dirty-{name}-{i}" for i in range(len(rows))],
                         dtype=object)
        defects[name](copy, fresh)
        copy["_position"] = rows + rng.uniform(0.1, 1.0, len(rows)) * (len(clean) - rows)
        copies.append(copy)
    original = clean.copy()
    original["_position"] = np.arange(len(clean), dtype=float)
    merged = pd.concat([original, *copies], ignore_index=True)
    merged = merged.sort_values("_position", kind="stable").drop(columns="_position")
    return merged.reset_index(drop=True)
