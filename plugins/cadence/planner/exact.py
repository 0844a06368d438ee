"""The exact reference of rules 4, 5, 7, 10 and 11 on small accounts (OR-Tools CP-SAT),
to measure how close the planner's placement comes to the best possible one.

One boolean per candidate and allowed day; the caps (per contact, per channel, all
channels, and the account's), spacing (touch gap, promotional gap) and the promotional
share are linear constraints over rolling windows, counting the sent history. The
objective is lexicographic, solved class by class: the most value (priority) in the
highest class, then, with that held, the most in the next, and so on. Classes that bypass
the caps (transactional) are always kept and not modelled.

The random small accounts (:func:`random_accounts`) are urgent touches (every day allowed)
in London, so a touch's window in days is exactly what its timestamps say and the model
needs no timing rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from cadence.planner.inputs import PlanningContext
from cadence.planner.priority import touch_classes

if TYPE_CHECKING:
    from cadence.policy import Policy

AS_OF = date(2026, 11, 23)
START = datetime(2026, 11, 23, tzinfo=UTC)
HORIZON_DAYS = 14
MAX_CONTACTS = 3
MAX_CANDIDATES = 12  # per contact
CHANNELS = ("email", "in_app", "sms")
MESSAGE_TYPES = ("educational", "relationship", "promotional", "operational", "transactional")
# (source, message type weights): where a touch comes from decides its class with the type.
SOURCES = ("cadence", "lifecycle", "renewal", "campaign", "trigger")
TIERS = ("mid_market", "tech_touch", "enterprise")
SHARE_SCALE = 1000  # the promotional share as a whole fraction of this


@dataclass
class Kept:
    """Value kept per class (index = class), and in all with classes weighted
    lexicographically (each class outweighs every lower one together)."""

    by_class: list[int]
    total: int = 0
    touches: dict[str, int] = field(default_factory=dict)  # touch_id -> day (optimum only)


def random_accounts(n: int, seed: int) -> tuple[pd.DataFrame, PlanningContext]:
    """``n`` random small accounts (1–3 contacts, 1–12 candidates each over 14 days, a
    few sent emails) as planner input."""
    rng = np.random.default_rng(seed)
    rows, history, contacts, accounts = [], [], [], []
    for a in range(n):
        account = f"a{a:04}"
        accounts.append({"account_id": account, "country": "GB", "timezone": "Europe/London",
                         "arr": float(rng.integers(5_000, 500_000)), "status": "active",
                         "csm_id": "m1", "tier": TIERS[rng.integers(len(TIERS))]})
        for c in range(int(rng.integers(1, MAX_CONTACTS + 1))):
            contact = f"{account}c{c}"
            contacts.append({"contact_id": contact, "account_id": account,
                             "email": f"{contact}@example.com", "timezone": "Europe/London"})
            for k in range(int(rng.integers(0, 3))):
                history.append({
                    "touch_id": f"{contact}h{k}", "contact_id": contact, "account_id": account,
                    "channel": "email", "message_type": "educational",
                    "category": "educational", "template_id": "tips", "status": "sent",
                    "scheduled_at": START - timedelta(days=int(rng.integers(1, 7)), hours=12)})
            for k in range(int(rng.integers(1, MAX_CANDIDATES + 1))):
                source = SOURCES[rng.choice(5, p=[0.45, 0.2, 0.1, 0.15, 0.1])]
                # Lifecycle and renewal touches are never promotional in policy.
                lifecycle = source in ("lifecycle", "renewal")
                message_type = MESSAGE_TYPES[rng.choice(5, p=[0.35, 0.35, 0, 0.25, 0.05]
                                                        if lifecycle else
                                                        [0.3, 0.3, 0.2, 0.15, 0.05])]
                first = int(rng.integers(0, HORIZON_DAYS))
                last = min(first + int(rng.integers(0, 6)), HORIZON_DAYS - 1)
                touch = f"{contact}t{k:02}"
                rows.append({
                    "touch_id": touch, "contact_id": contact, "account_id": account,
                    "channel": CHANNELS[rng.choice(3, p=[0.7, 0.25, 0.05])],
                    "message_type": message_type, "template_id": f"tpl{k}", "intent": touch,
                    "team": "marketing" if source == "campaign" else "cs", "source": source,
                    "rule_id": None, "earliest_at": START + timedelta(days=first),
                    "latest_at": START + timedelta(days=last, hours=23, minutes=59),
                    "priority": int(rng.integers(20, 100)), "urgent": True})
    context = PlanningContext(
        contacts=pd.DataFrame(contacts), accounts=pd.DataFrame(accounts),
        history=pd.DataFrame(history, columns=[
            "touch_id", "contact_id", "account_id", "channel", "message_type", "category",
            "template_id", "status", "scheduled_at"]),
        csms=pd.DataFrame({"csm_id": ["m1"], "weekly_capacity": [25], "timezone": ["UTC"]}))
    return pd.DataFrame(rows), context


def _day(stamp) -> int:
    return (pd.Timestamp(stamp).tz_convert("Europe/London").date() - AS_OF).days


def _values(frame: pd.DataFrame, policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    # Each candidate's class and its value inside it (priority, at least 1).
    klass = touch_classes(frame, policy.classes)
    return klass, np.maximum(frame["priority"].to_numpy(dtype=np.int64), 0) + 1


def lexicographic_total(by_class: list[int], frame: pd.DataFrame, policy: Policy) -> int:
    """One number ordering plans as the lexicographic objective does: each class's value
    weighted above everything the lower classes could hold together."""
    klass, value = _values(frame, policy)
    total, weight = 0, 1
    for c in range(len(policy.classes.order) - 1, -1, -1):
        total += weight * by_class[c]
        weight *= int(value[klass >= c].sum()) + 1
    return total


def kept_by_planner(frame: pd.DataFrame, decisions: pd.DataFrame, policy: Policy) -> Kept:
    """What the planner kept of one account's candidates (scheduled or deferred)."""
    klass, value = _values(frame, policy)
    planned = set(decisions.loc[decisions["decision"].isin(["scheduled", "deferred"]),
                                "touch_id"])
    kept = frame["touch_id"].isin(planned).to_numpy()
    by_class = [int(value[kept & (klass == c)].sum()) for c in range(len(policy.classes.order))]
    return Kept(by_class, lexicographic_total(by_class, frame, policy))


def optimum(frame: pd.DataFrame, context: PlanningContext, policy: Policy) -> Kept:
    """The lexicographically best placement of one account's candidates (``frame``), with
    its sent history from ``context``."""
    klass, value = _values(frame, policy)
    bypass = policy.classes.bypassing()[klass]
    account = frame["account_id"].iloc[0]
    tier = context.accounts.set_index("account_id").loc[account, "tier"]
    limits = policy.planner.limits_for(tier)
    model = cp_model.CpModel()
    lo, hi = -40, HORIZON_DAYS + 40  # every window that can hold a planned day
    # (contact, kind) -> day -> list of literals or constants; kinds: all, promotional,
    # and each channel.
    terms: dict[tuple[str, str], dict[int, list]] = {}

    def add(contact: str, kind: str, day: int, term) -> None:
        terms.setdefault((contact, kind), {}).setdefault(day, []).append(term)

    history = context.history[context.history["account_id"] == account]
    for row in history.itertuples(index=False):
        day = _day(row.scheduled_at)
        for kind in ("all", row.channel):
            add(row.contact_id, kind, day, 1)
        if row.message_type == "promotional":
            add(row.contact_id, "promotional", day, 1)
    keep, placed = {}, {}
    # Rule 1 as the planner applies it: SMS only for the classes policy names.
    sms_allowed = [name in policy.planner.sms_classes for name in policy.classes.names]
    for k, row in enumerate(frame.itertuples(index=False)):
        if bypass[k]:
            continue
        first, last = max(_day(row.earliest_at), 0), _day(row.latest_at)
        if row.channel == "sms" and not sms_allowed[klass[k]]:
            first, last = 0, -1  # no day: never kept
        choices = []
        for day in range(first, last + 1):
            x = model.NewBoolVar(f"x_{k}_{day}")
            placed[(k, day)] = x
            choices.append(x)
            add(row.contact_id, "all", day, x)
            add(row.contact_id, row.channel, day, x)
            if row.message_type == "promotional":
                add(row.contact_id, "promotional", day, x)
        keep[k] = model.NewBoolVar(f"keep_{k}")
        model.Add(sum(choices) == keep[k]) if choices else model.Add(keep[k] == 0)

    def window(counts: dict[int, list], start: int, width: int) -> list:
        return [t for d in range(start, start + width) for t in counts.get(d, [])]

    def cap(counts: dict[int, list], width: int, limit: int) -> None:
        if width <= 0:
            return
        for start in range(lo, hi - width + 1):
            held = window(counts, start, width)
            if any(not isinstance(t, int) for t in held):
                model.Add(sum(held) <= limit)

    caps = {"email": [(7, limits.email_per_7_days), (30, limits.email_per_30_days)],
            "in_app": [(1, limits.in_app_per_day)], "sms": [(7, limits.sms_per_7_days)]}
    share = round(limits.promotional_max_share * SHARE_SCALE)
    for (contact, kind), counts in terms.items():
        for width, limit in caps.get(kind, []):
            cap(counts, width, limit)
        if kind == "all":
            cap(counts, 7, limits.all_channels_per_7_days)
            cap(counts, limits.min_days_between_touches, 1)
        if kind == "promotional":
            cap(counts, limits.min_days_between_promotional, 1)
            width = limits.promotional_share_window_days
            everything = terms[(contact, "all")]
            for end, on_end in counts.items():
                # The window ending on a promotional touch keeps the share.
                promotional = window(counts, end - width + 1, width)
                total = window(everything, end - width + 1, width)
                sent = [t for t in on_end if isinstance(t, int)]
                condition = model.NewBoolVar(f"promo_on_{contact}_{end}")
                literals = [t for t in on_end if not isinstance(t, int)]
                if sent:
                    model.Add(condition == 1)
                else:
                    model.AddMaxEquality(condition, literals)
                model.Add(SHARE_SCALE * sum(promotional) <= share * sum(total)
                          ).OnlyEnforceIf(condition)
    account_counts: dict[int, list] = {}
    for (_, kind), counts in terms.items():
        if kind == "all":
            for day, held in counts.items():
                account_counts.setdefault(day, []).extend(held)
    cap(account_counts, 7, limits.account_per_7_days)

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 30.0
    by_class = [0] * len(policy.classes.order)
    for c in range(len(policy.classes.order)):
        members = [k for k in keep if klass[k] == c]
        by_class[c] = int(value[(klass == c) & bypass].sum())
        if not members:
            continue
        objective = sum(int(value[k]) * keep[k] for k in members)
        model.Maximize(objective)
        status = solver.Solve(model)
        if status != cp_model.OPTIMAL:
            raise RuntimeError(f"account {account}: CP-SAT gave {solver.StatusName(status)}")
        best = round(solver.ObjectiveValue())
        by_class[c] += best
        model.Add(objective >= best)
    touches = {frame["touch_id"].iloc[k]: day for (k, day), x in placed.items()
               if solver.Value(x)}
    return Kept(by_class, lexicographic_total(by_class, frame, policy), touches)
