"""The personalization payload of each candidate (DESIGN §9.2): real names and numbers the
templates render, as one JSON object per touch."""

from __future__ import annotations

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
    accounts = inputs.accounts.rename(columns={"name": "company_name",
                                               "csm_id": "account_csm_id"})
    csms = inputs.csms[["csm_id", "name"]].rename(columns={"csm_id": "account_csm_id",
                                                           "name": "csm_name"})
    frame = (candidates[["contact_id", "account_id", "campaign_id", "event_at"]]
             .merge(inputs.contacts[["contact_id", "first_name"]], on="contact_id", how="left")
             .merge(accounts[["account_id", "company_name", "account_csm_id", "renewal_date",
                              "seats_purchased"]], on="account_id", how="left")
             .merge(csms, on="account_csm_id", how="left")
             .merge(inputs.usage, on="account_id", how="left")
             .merge(inputs.health[["account_id", "band", "score"]], on="account_id",
                    how="left"))
    payload = pd.DataFrame({
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
        "campaign_id": frame["campaign_id"],
        "event_at": pd.to_datetime(frame["event_at"], utc=True).dt.strftime(
            "%Y-%m-%dT%H:%M:%SZ"),
    })
    # One C-level serialisation for the whole frame; JSON escapes newlines inside values.
    lines = payload.to_json(orient="records", lines=True, force_ascii=False).split("\n")
    return pd.Series(lines[: len(payload)], index=candidates.index, dtype=object)
