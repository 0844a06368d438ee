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
    # Column-wise over the concerned touches: a contact's own slot first, else its
    # account's tier segment's slot, else the policy slot.
    touches = out[concerned]
    has_tier = touches["account_id"].isin(tiers.index)
    tier = touches["account_id"].map(tiers).where(has_tier, "unsegmented")
    by_contact = _slots_by_key(slots, "contact")
    by_segment = _slots_by_key(slots, "segment")
    mine = touches["contact_id"].isin(by_contact.index)
    theirs = ~mine & tier.isin(by_segment.index)
    slot = pd.concat([by_contact.reindex(touches["contact_id"][mine]).set_axis(
        touches.index[mine]), by_segment.reindex(tier[theirs]).set_axis(
        touches.index[theirs])]).reindex(touches.index)
    learned = (mine | theirs).to_numpy()
    # one text per tier, not per touch
    whose = tier.astype(object).map({t: f"the {t} segment's opens" for t in tier.unique()})
    whose[mine] = "this contact's opens"
    policy_slot = f"{timing.send_hour:02d}:00"
    says = pd.Series(f"send time {policy_slot} from policy: too little engagement history "
                     "for a learned slot", index=touches.index, dtype=object)
    if learned.any():
        chosen = slot[learned].astype("int64")
        best = pd.Series([f"{WEEKDAYS[w].capitalize()} {h:02d}:00 best, {o} of {d} opened then"
                          for w, h, o, d in zip(chosen["weekday"], chosen["hour"],
                                                chosen["opens_in_slot"], chosen["delivered"],
                                                strict=True)], index=chosen.index)
        hour = chosen["hour"]
        same = hour == timing.send_hour
        says[same.index[same]] = [f"send time {policy_slot} learned from {w} ({b})" for w, b in
                                  zip(whose[same.index[same]], best[same], strict=True)]
        move = same.index[~same]
        new_local = local[move].dt.normalize() + pd.to_timedelta(hour[move], unit="h")
        new_utc = _utc_of(new_local, touches.loc[move, "timezone"])
        earliest, latest = _windows(windows, touches.loc[move, "touch_id"])
        outside = ((earliest.notna() & (new_utc < earliest))
                   | (latest.notna() & (new_utc > latest)))
        says[move[outside]] = [
            f"send time {policy_slot} from policy: the slot learned from {w} ({b}) is outside"
            " the touch's window" for w, b in zip(whose[move[outside]], best[move[outside]],
                                                  strict=True)]
        moved = move[~outside]
        out.loc[moved, "local_send_at"] = new_local[moved]
        out.loc[moved, "scheduled_at"] = new_utc[moved]
        says[moved] = [f"send time {h:02d}:00 learned from {w} ({b})" for h, w, b in
                       zip(hour[moved], whose[moved], best[moved], strict=True)]
    text[touches.index] = says
    return out, text


def slot_counts(says: pd.Series) -> dict[str, int]:
    """How many send-time texts (:func:`steer_send_times`, non-empty) name each slot: the
    contact's, its segment's, the policy's (a policy text may name the learned slot it
    refused). Arrow's substring kernel: a regular expression per row cost seconds at 2M."""
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = pa.array(says.tolist(), type=pa.string())
    policy = pc.match_substring(texts, "from policy")
    contact = pc.and_not(pc.match_substring(texts, "learned from this contact"), policy)
    segment = pc.and_not(pc.and_not(pc.match_substring(texts, "learned from the"), policy),
                         contact)
    return {"by_contact_slot": pc.sum(contact).as_py() or 0,
            "by_segment_slot": pc.sum(segment).as_py() or 0,
            "policy_slot": pc.sum(policy).as_py() or 0}


def _slots_by_key(slots: pd.DataFrame, scope: str) -> pd.DataFrame:
    columns = ["weekday", "hour", "opens_in_slot", "delivered"]
    return slots.loc[slots["scope"] == scope, ["key", *columns]].drop_duplicates(
        "key").set_index("key")


def _utc_of(local: pd.Series, timezone: pd.Series) -> pd.Series:
    # Wall-clock times to UTC, one zone at a time: a skipped time moves forward, a repeated
    # one takes standard time.
    zone = timezone.where(timezone.notna() & (timezone != ""), "UTC")
    utc = pd.Series(pd.NaT, index=local.index, dtype="datetime64[ns, UTC]")
    for name, rows in local.groupby(zone).groups.items():
        utc[rows] = pd.DatetimeIndex(local[rows]).tz_localize(
            name, ambiguous=np.zeros(len(rows), dtype=bool),
            nonexistent="shift_forward").tz_convert("UTC")
    return utc


def _windows(windows: pd.DataFrame, touch_ids: pd.Series) -> tuple[pd.Series, pd.Series]:
    window = windows.drop_duplicates("touch_id").set_index("touch_id")
    return tuple(pd.Series(pd.to_datetime(window[column].reindex(touch_ids).to_numpy(),
                                          utc=True), index=touch_ids.index)
                 for column in ("earliest_at", "latest_at"))
