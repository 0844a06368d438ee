"""Rules 4–7 still have two entry points: the compiled placement pass
(cadence.planner.placement, over day-count arrays) and the day logs CSM levelling moves
touches with (cadence.planner.deferral.fits, over ContactLoad). While both exist, they must
answer alike: the same random logs and touch, both asked whether the day is free."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cadence.planner.day_logs import ContactLoad, DayLog, Touch, record
from cadence.planner.deferral import fits
from cadence.planner.frequency_cap import CAPPED_CHANNELS, channel_cap_table, channel_caps
from cadence.planner.placement import (
    KINDS,
    Preferences,
    TierLimits,
    Touches,
    _count,
    _refusal,
    _refuses,
    rows_of,
)
from cadence.planner.policy import Limits

CHANNELS = ["email", "in_app", "sms", "call"]
CATEGORIES = ["educational", "relationship", "promotional"]
BASE, N_DAYS = 60, 160

entry = st.tuples(st.integers(-35, 35), st.sampled_from(CHANNELS),
                  st.sampled_from(CATEGORIES), st.booleans(), st.booleans())


@settings(max_examples=300, deadline=None)
@given(mine=st.lists(entry, max_size=14), others=st.lists(st.integers(-10, 10), max_size=12),
       touch=entry, weekly=st.booleans(), tight=st.booleans())
def test_compiled_pass_and_day_logs_agree_on_every_day(mine, others, touch, weekly, tight):
    limits = Limits(account_per_7_days=4 if tight else 10,
                    all_channels_per_7_days=2 if tight else 3)
    caps = channel_caps(limits)
    load, account = ContactLoad(), DayLog()
    counts = np.zeros((KINDS, N_DAYS), dtype=np.int32)
    account_counts = np.zeros(N_DAYS, dtype=np.int32)
    frequencies = [("*", 7)] if weekly else []
    _, channel, category, _, _ = touch
    preference_counts = np.zeros((len(frequencies), N_DAYS), dtype=np.int32)
    for n, (day, ch, cat, checkin, announcement) in enumerate(mine):
        promotional = cat == "promotional"
        load.add(Touch(f"m{n}", ch, cat, promotional, checkin, announcement), day)
        account.add(day, f"m{n}")
        slot = CAPPED_CHANNELS.index(ch) if ch in CAPPED_CHANNELS else -1
        _count(counts, day + BASE, slot, promotional, checkin, announcement, 1)
        record(account_counts, day + BASE)
        if weekly and cat == category:
            record(preference_counts[0], day + BASE)
    for n, day in enumerate(others):
        account.add(day, f"o{n}")
        record(account_counts, day + BASE)

    promotional = category == "promotional"
    checkin, announcement = touch[3], touch[4]
    new = Touch("new", channel, category, promotional, checkin, announcement, frequencies)
    slot = CAPPED_CHANNELS.index(channel) if channel in CAPPED_CHANNELS else -1
    one = np.zeros(1, dtype=np.int64)
    T = rows_of(Touches(one, one, np.array([slot]), one, one, np.array([promotional]),
                        np.array([checkin]), np.array([announcement]), one, one, one,
                        np.zeros(1, bool), one, one, np.zeros(1, bool), one, one))
    P = Preferences(np.zeros(1, np.int64), np.array([len(frequencies)]),
                    np.full(len(frequencies), -1, np.int64),
                    np.array([w for _, w in frequencies], dtype=np.int64))
    L = rows_of(TierLimits(channel_cap_table(limits)[None],
                           np.array([limits.all_channels_per_7_days]),
                           np.array([limits.account_per_7_days]),
                           np.array([limits.min_days_between_touches]),
                           np.array([limits.min_days_between_promotional]),
                           np.array([limits.promotional_share_window_days]),
                           np.array([limits.promotional_max_share])))
    stacked = counts[None]
    for day in range(-3, 20):
        by_logs = fits(new, day, load, account, limits, caps)
        compiled = not _refuses(0, 0, day + BASE, stacked, account_counts, preference_counts,
                                T, P, L)
        assert by_logs == compiled, (day, mine, others, touch)
        # The refusal a decision names exists exactly when the day is refused.
        named = _refusal(0, 0, day + BASE, stacked, account_counts, preference_counts, T, P, L)
        assert (named[0] != 0) == (not compiled), (day, mine, others, touch, named)
