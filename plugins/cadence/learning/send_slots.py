"""Send-time optimisation: the local hour-of-week in which a contact (with enough history)
or its tier segment opens the most of what it receives becomes the preferred send slot;
without enough history the policy slot stays. The planner still chooses the day (caps and
spacing count days, so moving the hour never breaks them); this step sets the hour on that
day for email and in-app touches planned at the policy slot, inside business hours and the
touch's own window, and says in the reason which slot it used and why.

The open rate of a slot is the share of a contact's delivered messages whose first open
fell in that local hour-of-week.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from cadence.learning.policy import SendTimeLearning
from cadence.planner.policy import WEEKDAYS, Timing

SLOT_COLUMNS = ["scope", "key", "weekday", "hour", "delivered", "opens_in_slot", "open_rate",
                "as_of_date"]


def local_open_slots(sent: pd.DataFrame) -> pd.DataFrame:
    """``sent`` (see ``learning/sent_engagement.sql``) with the local weekday (0=Monday)
    and hour of each first open, in the touch's timezone (NaN when not opened)."""
    out = sent.reset_index(drop=True)
    out["open_weekday"] = np.nan
    out["open_hour"] = np.nan
    opened = pd.to_datetime(out["first_open_at"], utc=True)
    for zone, rows in out[opened.notna()].groupby(out["timezone"].fillna("UTC")).groups.items():
        local = opened[rows].dt.tz_convert(zone)
        out.loc[rows, "open_weekday"] = local.dt.weekday.to_numpy(dtype=float)
        out.loc[rows, "open_hour"] = local.dt.hour.to_numpy(dtype=float)
    return out


def learn_send_slots(sent: pd.DataFrame, timing: Timing, rules: SendTimeLearning,
                     as_of: date) -> pd.DataFrame:
    """The best slot per contact and per tier segment with enough history (columns
    :data:`SLOT_COLUMNS`; scope ``contact`` or ``segment``). Only slots inside business
    hours on business weekdays count; ties go to the earliest slot of the week."""
    frame = local_open_slots(sent[sent["channel"].isin(rules.channels)])
    frame = frame[frame["delivered"] > 0]
    business_days = [WEEKDAYS.index(d) for d in timing.business_weekdays]
    in_hours = (frame["open_weekday"].isin(business_days)
                & (frame["open_hour"] >= timing.business_start_hour)
                & (frame["open_hour"] < timing.business_end_hour))
    slots = []
    for scope, key, min_delivered, min_opens in (
            ("contact", "contact_id", rules.min_contact_delivered, rules.min_contact_opens),
            ("segment", "tier", rules.min_segment_delivered, rules.min_segment_opens)):
        delivered = frame.groupby(key).size().rename("delivered")
        opens = (frame[in_hours].groupby([key, "open_weekday", "open_hour"]).size()
                 .rename("opens_in_slot").reset_index())
        if opens.empty:
            continue
        opens = opens.merge(delivered, left_on=key, right_index=True)
        opens = opens[(opens["delivered"] >= min_delivered) & (opens["opens_in_slot"] >= min_opens)]
        best = (opens.sort_values([key, "opens_in_slot", "open_weekday", "open_hour"],
                                  ascending=[True, False, True, True], kind="stable")
                .drop_duplicates(key))
        slots.append(pd.DataFrame({
            "scope": scope, "key": best[key].astype(str),
            "weekday": best["open_weekday"].astype("int64"),
            "hour": best["open_hour"].astype("int64"),
            "delivered": best["delivered"].astype("int64"),
            "opens_in_slot": best["opens_in_slot"].astype("int64"),
            "open_rate": (best["opens_in_slot"] / best["delivered"]).round(4)}))
    if not slots:
        return pd.DataFrame(columns=SLOT_COLUMNS)
    out = pd.concat(slots, ignore_index=True).assign(as_of_date=as_of)
    return out[SLOT_COLUMNS].sort_values(["scope", "key"], kind="stable").reset_index(drop=True)


def steer_send_times(calendar: pd.DataFrame, windows: pd.DataFrame, slots: pd.DataFrame,
                     tiers: pd.Series, timing: Timing, rules: SendTimeLearning
                     ) -> tuple[pd.DataFrame, pd.Series]:
    """The calendar with the learned hour applied, and per row the send-time text to add
    to its reason (empty for rows this step does not concern).

    Concerned: scheduled, non-transactional touches on ``rules.channels`` that the planner
    put at the policy slot. ``windows`` has each touch's earliest_at and latest_at,
    ``tiers`` the tier of each account (index account_id).
    """
    out = calendar.copy()
    text = pd.Series("", index=out.index, dtype=object)
    local = pd.to_datetime(out["local_send_at"])
    at_policy_slot = (local.dt.hour == timing.send_hour) & (local.dt.minute == 0)
    concerned = ((out["status"] == "scheduled") & out["channel"].isin(rules.channels)
                 & (out["message_type"] != "transactional") & at_policy_slot)
    if not concerned.any():
        return out, text
    by_contact = slots[slots["scope"] == "contact"].set_index("key")
    by_segment = slots[slots["scope"] == "segment"].set_index("key")
    window = windows.drop_duplicates("touch_id").set_index("touch_id")
    policy_slot = f"{timing.send_hour:02d}:00"
    for row in np.flatnonzero(concerned.to_numpy()):
        touch = out.iloc[row]
        tier = tiers.get(touch["account_id"], "unsegmented")
        if touch["contact_id"] in by_contact.index:
            slot, whose = by_contact.loc[touch["contact_id"]], "this contact's opens"
        elif tier in by_segment.index:
            slot, whose = by_segment.loc[tier], f"the {tier} segment's opens"
        else:
            text.iloc[row] = (f"send time {policy_slot} from policy: too little engagement "
                              f"history for a learned slot")
            continue
        best = (f"{WEEKDAYS[int(slot['weekday'])].capitalize()} {int(slot['hour']):02d}:00 "
                f"best, {int(slot['opens_in_slot'])} of {int(slot['delivered'])} opened then")
        hour = int(slot["hour"])
        if hour == timing.send_hour:
            text.iloc[row] = f"send time {policy_slot} learned from {whose} ({best})"
            continue
        new_local = local.iloc[row].normalize() + pd.Timedelta(hours=hour)
        zone = touch["timezone"] or "UTC"
        new_utc = new_local.tz_localize(zone, ambiguous=False, nonexistent="shift_forward")
        new_utc = new_utc.tz_convert("UTC")
        earliest, latest = _window(window, touch["touch_id"])
        if (earliest is not None and new_utc < earliest) or (latest is not None
                                                             and new_utc > latest):
            text.iloc[row] = (f"send time {policy_slot} from policy: the slot learned from "
                              f"{whose} ({best}) is outside the touch's window")
            continue
        out.iloc[row, out.columns.get_loc("local_send_at")] = new_local
        out.iloc[row, out.columns.get_loc("scheduled_at")] = new_utc
        text.iloc[row] = f"send time {hour:02d}:00 learned from {whose} ({best})"
    return out, text


def _window(window: pd.DataFrame, touch_id: str):
    if touch_id not in window.index:
        return None, None
    earliest, latest = window.loc[touch_id, ["earliest_at", "latest_at"]]
    return (pd.Timestamp(earliest).tz_convert("UTC") if pd.notna(earliest) else None,
            pd.Timestamp(latest).tz_convert("UTC") if pd.notna(latest) else None)
