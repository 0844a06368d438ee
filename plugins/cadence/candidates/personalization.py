"""The personalization payload of each candidate (DESIGN §9.2): real names and numbers the
templates render, as one JSON object per touch."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cadence.candidates.inputs import CandidateInputs
from cadence.candidates.policy import CandidatesPolicy


def personalization_payloads(candidates: pd.DataFrame, inputs: CandidateInputs,
                             policy: CandidatesPolicy) -> pd.Series:
    """JSON payload per candidate (aligned with its index): first_name, company_name,
    csm_name, active_users, seats_used, seats_purchased, logins_30d, hours_saved_30d (logins
    times ``minutes_saved_per_login``), renewal_date, health_band, health_score, and the
    campaign_id / event_at of campaign touches."""
    if candidates.empty:
        return pd.Series([], index=candidates.index, dtype=object)
    # A contact's facts are the same in each of its touches: they are serialised once per
    # contact and account, the campaign fields once per campaign send, and joined.
    people = candidates[["contact_id", "account_id"]]
    person = people.drop_duplicates().reset_index(drop=True)
    sends = candidates[["campaign_id", "event_at"]]
    send = sends.drop_duplicates().reset_index(drop=True)
    accounts = inputs.accounts.rename(columns={"name": "company_name",
                                               "csm_id": "account_csm_id"})
    csms = inputs.csms[["csm_id", "name"]].rename(columns={"csm_id": "account_csm_id",
                                                           "name": "csm_name"})
    frame = (person
             .merge(inputs.contacts[["contact_id", "first_name"]], on="contact_id", how="left")
             .merge(accounts[["account_id", "company_name", "account_csm_id", "renewal_date",
                              "seats_purchased"]], on="account_id", how="left")
             .merge(csms, on="account_csm_id", how="left")
             .merge(inputs.usage, on="account_id", how="left")
             .merge(inputs.health[["account_id", "band", "score"]], on="account_id",
                    how="left"))
    facts = _json_lines(pd.DataFrame({
        "first_name": frame["first_name"],
        "company_name": frame["company_name"],
        "csm_name": frame["csm_name"],
        "active_users": frame["active_users"].astype("Int64"),
        "seats_used": frame["seats_used"].astype("Int64"),
        "seats_purchased": frame["seats_purchased"].astype("Int64"),
        "logins_30d": frame["logins"].astype("Int64"),
        "hours_saved_30d": (frame["logins"] * policy.minutes_saved_per_login / 60).round(1),
        "renewal_date": frame["renewal_date"].dt.strftime("%Y-%m-%d"),
        "health_band": frame["band"],
        "health_score": frame["score"].round(1),
    }))
    campaign = _json_lines(pd.DataFrame({
        "campaign_id": send["campaign_id"],
        "event_at": pd.to_datetime(send["event_at"], utc=True).dt.strftime(
            "%Y-%m-%dT%H:%M:%SZ"),
    }))
    # '{"first_name":...,"health_score":...}' and '{"campaign_id":...}' make one object.
    head = facts.str.slice(0, -1).to_numpy()[_row_of(people, person)]
    tail = campaign.str.slice(1).to_numpy()[_row_of(sends, send)]
    return pd.Series(head + "," + tail, index=candidates.index, dtype=object)


def _json_lines(frame: pd.DataFrame) -> pd.Series:
    # One C-level serialisation for the whole frame; JSON escapes newlines inside values.
    lines = frame.to_json(orient="records", lines=True, force_ascii=False).split("\n")
    return pd.Series(lines[: len(frame)], dtype=object)


def _row_of(rows: pd.DataFrame, distinct: pd.DataFrame) -> np.ndarray:
    # Each row's position among the distinct rows (missing values match each other).
    at = rows.merge(distinct.assign(_at=np.arange(len(distinct))), on=list(rows.columns),
                    how="left")["_at"]
    return at.to_numpy(dtype=np.int64)
