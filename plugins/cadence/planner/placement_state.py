"""The compiled placement pass's inputs: every candidate, history row, preference, tier
and day group as integer codes and flat arrays, in the named groups of
:mod:`cadence.planner.placement` (:func:`placement.place_in_order`).

What a contact and its account already receive is the counted history (sent, or still
scheduled and not replanned now), in the contact's local days; history outside every
rule's reach of the planned days is left out, since no window can count it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from cadence.planner.decision_details import texts
from cadence.planner.deferral import RULE as DEFERRAL
from cadence.planner.frequency_cap import CAPPED_CHANNELS, channel_cap_table
from cadence.planner.placement import (
    Days,
    HistoryIndex,
    HistoryRows,
    Preferences,
    Sizes,
    TierLimits,
    Touches,
    rows_of,
)
from cadence.planner.touch_facts import TouchFacts

if TYPE_CHECKING:
    from cadence.policy import Policy


@dataclass
class PlacementState:
    """Kernel arguments (see :meth:`arguments`) plus what the decision texts look up."""

    account: np.ndarray
    candidate: np.ndarray  # Touches as rows (placement.rows_of)
    preferences: Preferences
    groups: Days
    tiers: np.ndarray  # TierLimits as rows
    history: np.ndarray  # HistoryRows as rows
    history_index: HistoryIndex
    sizes: Sizes
    channel_names: np.ndarray
    why_rules: np.ndarray
    why_texts: pa.Array

    def arguments(self) -> tuple:
        """The arguments of ``place_in_order`` after ``order``."""
        return (self.candidate, self.preferences, self.groups, self.tiers, self.history,
                self.history_index, self.sizes)

    def preference_channel_name(self, rows: np.ndarray, k: np.ndarray) -> np.ndarray:
        """The channel of the k-th preference of each row ("*" for any channel)."""
        start, end, channel = (self.preferences.start, self.preferences.end,
                               self.preferences.channel)
        at = start[rows] + k
        valid = at < end[rows]
        code = np.where(valid, channel[np.minimum(at, max(len(channel) - 1, 0))]
                        if len(channel) else -1, -1)
        names = np.where(code >= 0, self.channel_names[np.maximum(code, 0)], "*")
        return np.where(valid, names, "").astype(object)

    def max_share_of(self, rows: np.ndarray) -> np.ndarray:
        """The promotional share limit of each row's tier."""
        return self.tiers["max_share"][self.candidate["tier"][rows]]

    def why_index(self, group: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Index into ``why_rules``/``why_texts`` of the reason a group's timing gives for
        a day, e.g. ("8.send_timing", "weekend"); (11.deferral, "no allowed day") when it
        allows the day."""
        why_not = self.groups.why_not
        inside = (day >= 0) & (day < why_not.shape[1])
        code = np.where(inside, why_not[group, np.clip(day, 0, why_not.shape[1] - 1)], -1)
        return np.where(code >= 0, code, len(self.why_rules) - 1)


def placement_state(facts: TouchFacts, history: pd.DataFrame, preferences: pd.DataFrame,
                    policy: Policy) -> PlacementState:
    """Encode candidates, counted history and preference frequencies for the pass."""
    planner = policy.planner
    frame = facts.frame
    n = len(frame)
    chosen = _frequencies(preferences, planner.preference_frequencies)
    contact_code, _ = _codes(frame["contact_id"], history["contact_id"], chosen["contact_id"])
    account_code, _ = _codes(frame["account_id"], history["account_id"])
    category_code, categories = _codes(facts.category, history["category"],
                                       chosen["category"])
    channel_code, channels = _codes(frame["channel"], history["channel"],
                                    chosen["channel"].dropna())
    channel_names = np.asarray(channels, dtype=object)
    slot_of = np.array([CAPPED_CHANNELS.index(c) if c in CAPPED_CHANNELS else -1
                        for c in channel_names], dtype=np.int64)
    h = len(history)
    contact, h_contact = contact_code[:n], contact_code[n:n + h]
    account, h_account = account_code[:n], account_code[n:]
    category, h_category = category_code[:n], category_code[n:n + h]
    channel, h_channel = channel_code[:n], channel_code[n:n + h]

    # Every window a rule counts lies within the widest reach of a planned day.
    limits = {tier: planner.limits_for(tier) for tier in sorted(set(facts.tier))}
    reach = 1 + max([30, 7, *planner.preference_frequencies.values()]
                    + [max(x.promotional_share_window_days, x.min_days_between_touches,
                           x.min_days_between_promotional) for x in limits.values()])
    horizon = max(len(rules.why_not) for rules in facts.day_rules) if facts.day_rules else 0
    last_day = int(max(facts.last_day.max(initial=0), facts.first_day.max(initial=0),
                       max((max(r.preferred + r.other + list(r.why_not), default=0)
                            for r in facts.day_rules), default=0), horizon))
    base = reach + 1
    n_days = base + last_day + reach + 2
    h_day = history["day"].to_numpy(dtype=np.int64) + base
    kept = (h_day >= 0) & (h_day < n_days - 1)  # the last cell is the total

    conflicts = planner.conflicts
    template = history["template_id"]
    h_promotional = ((history["message_type"] == "promotional")
                     | (history["category"] == "promotional")).to_numpy(bool)
    h_checkin = template.isin(conflicts.checkin_templates).to_numpy(bool)
    h_announcement = template.isin(conflicts.announcement_templates).to_numpy(bool)
    n_contacts = int(contact_code.max(initial=-1)) + 1
    n_accounts = int(account_code.max(initial=-1)) + 1
    rows = np.flatnonzero(kept)
    by_contact = rows[np.argsort(h_contact[rows], kind="stable")]
    by_account = rows[np.argsort(h_account[rows], kind="stable")]
    history_rows = rows_of(HistoryRows(
        np.where(kept, h_day, 0), slot_of[h_channel] if h else np.zeros(0, np.int64),
        h_channel, h_category, h_promotional, h_checkin, h_announcement))
    history_index = HistoryIndex(_starts(h_contact[by_contact], n_contacts), by_contact,
                                 _starts(h_account[by_account], n_accounts), by_account)

    # Preference frequencies per (contact, category), in the order the rules try them.
    p_key = (contact_code[n + h:].astype(np.int64) * len(categories)
             + category_code[n + h:])
    p_order = np.argsort(p_key, kind="stable")
    p_key = p_key[p_order]
    p_channel = np.full(len(chosen), -1, dtype=np.int64)
    named = chosen["channel"].notna().to_numpy()
    p_channel[named] = channel_code[n + h:][: named.sum()]
    p_channel = p_channel[p_order]
    p_width = chosen["days"].to_numpy(dtype=np.int64)[p_order]
    key = contact.astype(np.int64) * len(categories) + category
    preference_arrays = Preferences(np.searchsorted(p_key, key, "left"),
                                    np.searchsorted(p_key, key, "right"), p_channel, p_width)

    group_arrays, why_rules, why_texts = _groups(facts, base, last_day)
    tier_code, tier_names = pd.factorize(pd.Series(facts.tier, dtype=object))
    tier_limits = [limits[t] for t in tier_names]
    tier_rows = rows_of(TierLimits(
        np.stack([channel_cap_table(x) for x in tier_limits]) if tier_limits
        else np.zeros((0, len(CAPPED_CHANNELS), 2, 2), dtype=np.int64),
        np.array([x.all_channels_per_7_days for x in tier_limits], dtype=np.int64),
        np.array([x.account_per_7_days for x in tier_limits], dtype=np.int64),
        np.array([x.min_days_between_touches for x in tier_limits], dtype=np.int64),
        np.array([x.min_days_between_promotional for x in tier_limits], dtype=np.int64),
        np.array([x.promotional_share_window_days for x in tier_limits], dtype=np.int64),
        np.array([x.promotional_max_share for x in tier_limits], dtype=np.float64)))
    priority = frame["priority"].to_numpy(dtype=np.int64)
    candidate_rows = rows_of(Touches(
        contact, account, slot_of[channel] if n else np.zeros(0, np.int64), channel,
        category, facts.promotional, facts.checkin, facts.announcement, facts.group,
        facts.first_day, facts.last_day, facts.delayed_by_conflict, tier_code, facts.klass,
        facts.protected,
        # What keeping a touch is worth inside its class: its priority, at least 1.
        priority - int(priority.min(initial=0)) + 1,
        np.array([c.repair_days for c in policy.classes.order],
                 dtype=np.int64)[facts.klass.astype(np.int64)]))
    # The most contacts an account has and the most touches a contact or an account
    # receives, so the pass sizes its per-account state once.
    contacts_per_account = _most(account, contact)
    entries_per_contact = int(np.bincount(np.concatenate([contact, h_contact[kept]]),
                                          minlength=1).max(initial=0))
    entries_per_account = int(np.bincount(np.concatenate([account, h_account[kept]]),
                                          minlength=1).max(initial=0))
    sizes = Sizes(base, n_days, n_contacts, contacts_per_account, entries_per_contact,
                  entries_per_account)
    return PlacementState(
        account=account, candidate=candidate_rows, preferences=preference_arrays,
        groups=Days(*group_arrays), tiers=tier_rows, history=history_rows,
        history_index=history_index, sizes=sizes,
        channel_names=channel_names, why_rules=why_rules, why_texts=why_texts)


def _most(account: np.ndarray, contact: np.ndarray) -> int:
    # The most distinct contacts with candidates in one account.
    if not len(account):
        return 0
    pairs = np.unique(account.astype(np.int64) * (int(contact.max()) + 1) + contact)
    return int(np.bincount(pairs // (int(contact.max()) + 1)).max())


def _frequencies(preferences: pd.DataFrame, days: dict[str, int]) -> pd.DataFrame:
    # The contacts' frequency preferences stricter than "as sent", sorted like
    # ``touch_facts.preference_frequencies``: by contact, category and channel.
    chosen = preferences[preferences["frequency"].isin(list(days))]
    chosen = chosen.sort_values(["contact_id", "category", "channel"], na_position="first")
    chosen = chosen[chosen["category"].map(lambda c: isinstance(c, str)).astype(bool)]
    channel = chosen["channel"].where(chosen["channel"].map(lambda c: isinstance(c, str))
                                      .astype(bool))
    return pd.DataFrame({
        "contact_id": chosen["contact_id"].astype(object).to_numpy(),
        "category": chosen["category"].astype(object).to_numpy(),
        "channel": channel.astype(object).to_numpy(),
        "days": chosen["frequency"].map(days).to_numpy(dtype=np.int64)})


def _codes(*parts) -> tuple[np.ndarray, np.ndarray]:
    # pd.factorize of the parts concatenated (codes in order of first appearance, -1 for
    # missing), each part factorized on its own: concatenating a million-row Arrow column
    # with a small object one would turn it all into Python objects.
    coded = [pd.factorize(part) for part in parts]
    codes, uniques = pd.factorize(np.concatenate([np.asarray(u, dtype=object)
                                                  for _, u in coded]))
    at = np.cumsum([0] + [len(u) for _, u in coded])
    return np.concatenate([np.append(codes[at[k]:at[k + 1]], -1)[part_codes]
                           for k, (part_codes, _) in enumerate(coded)]), uniques


def _starts(codes: np.ndarray, n: int) -> np.ndarray:
    # CSR offsets of rows sorted by code: rows of code c are [starts[c], starts[c + 1]).
    return np.searchsorted(codes, np.arange(n + 1), "left").astype(np.int64)


def _groups(facts: TouchFacts, base: int, last_day: int
            ) -> tuple[tuple, np.ndarray, pa.Array]:
    # Each day group's allowed days (as indices) and, per day, why it is not allowed.
    preferred = [np.asarray(r.preferred, dtype=np.int64) + base for r in facts.day_rules]
    other = [np.asarray(r.other, dtype=np.int64) + base for r in facts.day_rules]
    reasons: dict[tuple[str, str], int] = {}
    why_not = np.full((len(facts.day_rules), last_day + 1), -1, dtype=np.int64)
    for g, rules in enumerate(facts.day_rules):
        for day, reason in rules.why_not.items():
            if 0 <= day <= last_day:
                why_not[g, day] = reasons.setdefault(reason, len(reasons))
    listed = [*reasons, (DEFERRAL, "no allowed day")]
    return ((_offsets(preferred), _concat(preferred), _offsets(other), _concat(other),
             why_not), np.array([r for r, _ in listed], dtype=object),
            texts([w for _, w in listed]))


def _offsets(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
