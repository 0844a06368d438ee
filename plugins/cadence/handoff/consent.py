"""Consent: one table of everything that forbids a touch, and the cancellations it causes.

``consent_suppressions`` (one row per email or contact_id × reason × scope) merges the
source files' suppressions, the contacts' ``never`` preferences, the email provider's
unsubscribes/bounces/spam reports and engagement-webhook unsubscribes. What each forbids
(DESIGN §8 rule 1):

- erasure, do_not_contact: everything, transactional included;
- bounce, spam_report (scope email): any email;
- unsubscribe scope all: every non-transactional touch; scope marketing: promotional and
  educational only; scope email: non-transactional email;
- opt_out (scope ``<category>/<channel>``, from a ``never`` preference): non-transactional
  touches of that category on that channel.
"""

from __future__ import annotations

import logging
from datetime import datetime

import numpy as np
import pandas as pd

from cadence.contract.emails import normalise_email
from cadence.contract.warehouse import Warehouse
from cadence.handoff import store

log = logging.getLogger(__name__)

KEY = ["email", "contact_id", "reason", "scope"]
COLUMNS = [*KEY, "source", "created_at", "synced_at"]
DEFAULT_SCOPE = {"unsubscribe": "all", "bounce": "email", "spam_report": "email",
                 "erasure": "all", "do_not_contact": "all"}
MARKETING = {"promotional", "educational"}
# When several suppressions forbid a touch, the strongest names the reason.
STRENGTH = ["erasure", "do_not_contact", "spam_report", "bounce", "unsubscribe", "opt_out"]


class ConsentError(ValueError):
    """A suppression row breaks the source contract; the message names row and column."""


def normalise_suppressions(frame: pd.DataFrame, source: str,
                           synced_at: datetime) -> pd.DataFrame:
    """Rows of email/contact_id, reason, scope, created_at in the consent table's shape:
    emails trimmed, lower-cased and their domain in punycode, a missing scope set from the
    reason, the source named."""
    out = frame.reindex(columns=["email", "contact_id", "reason", "scope", "created_at"]).copy()
    nobody = (out["email"].isna() & out["contact_id"].isna()).to_numpy()
    unknown = ~out["reason"].isin([*DEFAULT_SCOPE, "opt_out"]).to_numpy()
    if (nobody | unknown).any():
        position = int(np.argmax(nobody | unknown))  # the first broken row
        if nobody[position]:
            raise ConsentError(f"{source} row {position}: column email/contact_id: one of "
                               "them is required")
        raise ConsentError(f"{source} row {position}: column reason: unknown reason "
                           f"{out['reason'].iloc[position]!r}")
    out["email"] = out["email"].map(normalise_email, na_action="ignore")
    out["scope"] = out["scope"].fillna(out["reason"].map(DEFAULT_SCOPE))
    out["source"] = source
    out["created_at"] = pd.to_datetime(out["created_at"], utc=True)
    out["synced_at"] = pd.Timestamp(synced_at)
    return out[COLUMNS]


def opt_outs_as_suppressions(preferences: pd.DataFrame) -> pd.DataFrame:
    """``never`` preference rows (contact_id, category, channel, created_at) as opt_out
    suppressions with scope ``<category>/<channel>``."""
    return pd.DataFrame({
        "email": pd.Series([None] * len(preferences), dtype="object"),
        "contact_id": preferences["contact_id"].to_numpy(),
        "reason": "opt_out",
        "scope": (preferences["category"] + "/" + preferences["channel"]).to_numpy(),
        "created_at": preferences["created_at"].to_numpy(),
    })


def merge_suppressions(existing: pd.DataFrame, incoming: pd.DataFrame) -> pd.DataFrame:
    """Upsert: one row per (email, contact_id, reason, scope), keeping the earliest
    ``created_at`` and the source that reported it first."""
    frames = [f for f in (existing, incoming) if len(f)]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    merged = pd.concat(frames, ignore_index=True)[COLUMNS]
    merged["created_at"] = pd.to_datetime(merged["created_at"], utc=True)
    merged["synced_at"] = pd.to_datetime(merged["synced_at"], utc=True)
    keys = merged[KEY].astype(object).fillna("")
    merged = merged.assign(_k=keys["email"].str.cat(
        [keys[column] for column in KEY[1:]], sep="|"))
    merged = merged.sort_values(["_k", "created_at", "source"], kind="stable")
    return merged.drop_duplicates("_k").drop(columns="_k").reset_index(drop=True)


def forbidden_reasons(touches: pd.DataFrame, contacts: pd.DataFrame,
                      suppressions: pd.DataFrame) -> pd.Series:
    """Per touch (index of ``touches``), the reason consent forbids it, or NA.

    ``touches`` needs touch_id, contact_id, message_type, category, channel; ``contacts``
    contact_id and email; ``suppressions`` the consent table's columns. The hourly
    cancellation decides the same in the warehouse (``handoff/forbidden_touches.sql``);
    ``test_consent_cancellations.py`` holds the two together.
    """
    result = pd.Series(pd.NA, index=touches.index, dtype="object")
    if touches.empty or suppressions.empty:
        return result
    base = touches[["contact_id", "message_type", "category", "channel"]].copy()
    base["_row"] = touches.index
    emails = contacts[["contact_id", "email"]].drop_duplicates("contact_id")
    base = base.merge(emails, on="contact_id", how="left")
    rules = suppressions[["email", "contact_id", "reason", "scope"]]
    by_contact = base.merge(rules.drop(columns="email").dropna(subset=["contact_id"]),
                            on="contact_id")
    by_email = base.merge(rules.drop(columns="contact_id").dropna(subset=["email"]),
                          on="email")
    pairs = pd.concat([by_contact, by_email], ignore_index=True)
    if pairs.empty:
        return result
    transactional = pairs["message_type"].eq("transactional")
    email = pairs["channel"].eq("email")
    reason, scope = pairs["reason"], pairs["scope"]
    opt_out_scope = pairs["category"].fillna("") + "/" + pairs["channel"].fillna("")
    forbids = (
        reason.isin(["erasure", "do_not_contact"])
        | (reason.isin(["bounce", "spam_report"]) & email)
        | (reason.eq("unsubscribe") & scope.eq("all") & ~transactional)
        | (reason.eq("unsubscribe") & scope.eq("marketing")
           & pairs["message_type"].isin(MARKETING))
        | (reason.eq("unsubscribe") & scope.eq("email") & email & ~transactional)
        | (reason.eq("opt_out") & scope.eq(opt_out_scope) & ~transactional)
    )
    hits = pairs[forbids].copy()
    hits["_strength"] = hits["reason"].map(STRENGTH.index)
    hits = hits.sort_values(["_row", "_strength"]).drop_duplicates("_row")
    # A scope that is missing must not make the detail, and so the decision, missing.
    detail = hits["reason"] + " (scope " + hits["scope"].fillna("") + ")"
    result.loc[hits["_row"].to_numpy()] = detail.to_numpy()
    return result


# -- glue --------------------------------------------------------------------------------
def read_suppressions(warehouse: Warehouse) -> pd.DataFrame:
    """Every row of the consent table: what is known now is honoured, whatever the run's
    logical time or the row's created_at."""
    return store.read(warehouse, "consent_suppressions")


def read_contacts(warehouse: Warehouse) -> pd.DataFrame:
    """Contacts with emails and the names messages are personalised with."""
    columns = ["contact_id", "account_id", "email", "first_name", "last_name", "phone",
               "account_name", "csm_name", "csm_email"]
    if not all(warehouse.table_exists(t) for t in ("stg_contacts", "stg_accounts", "stg_csms")):
        log.info("staged contacts, accounts or CSMs missing; no contact details")
        return pd.DataFrame(columns=columns)
    return store.read(warehouse, "contacts")


def add_suppressions(warehouse: Warehouse, incoming: pd.DataFrame) -> int:
    """Upsert rows into ``consent_suppressions``; returns how many were new."""
    existing = warehouse.read_columns("select * from consent_suppressions")
    merged = merge_suppressions(existing, incoming)
    if len(merged) != len(existing):
        warehouse.write_frame("consent_suppressions", merged, replace_all=True)
    return len(merged) - len(existing)


def sync_consent(warehouse: Warehouse, policy, now: datetime, sendgrid=None) -> dict:
    """Merge the source suppressions, ``never`` preferences (every row known at ``now``,
    the wall clock, which also stamps ``synced_at``) and (when email goes through
    SendGrid, or ``sendgrid`` is given) SendGrid's suppression lists since the stored
    watermark into ``consent_suppressions``. Rerunning adds nothing twice."""
    incoming = []
    files = store.read_if_present(warehouse, "stg_suppressions", "source_suppressions",
                                  ["email", "contact_id", "reason", "scope", "created_at"])
    incoming.append(normalise_suppressions(files, "files", now))
    opt_outs = store.read_if_present(warehouse, "stg_preferences", "source_opt_outs",
                                     ["contact_id", "category", "channel", "created_at"])
    incoming.append(normalise_suppressions(opt_outs_as_suppressions(opt_outs),
                                           "preferences", now))
    if sendgrid is None and policy.handoff.channel_providers.get("email") == "sendgrid":
        from cadence.providers.sendgrid import SendGridProvider

        sendgrid = SendGridProvider.from_connection(policy.handoff.sendgrid,
                                                    policy.handoff.retry)
    pulled = 0
    if sendgrid is not None:
        mark = store.read(warehouse, "consent_watermark", source="sendgrid")["synced_until"]
        since = None if mark.isna().iloc[0] else pd.Timestamp(mark.iloc[0]).to_pydatetime()
        rows = pd.DataFrame(sendgrid.suppressions(since),
                            columns=["email", "reason", "scope", "created_at"])
        pulled = len(rows)
        incoming.append(normalise_suppressions(rows, "sendgrid", now))
        if pulled:
            watermark = pd.DataFrame({"source": ["sendgrid"],
                                      "synced_until": [rows["created_at"].max()]})
            warehouse.write_frame("consent_watermarks", watermark,
                                  replace_where={"source": "sendgrid"})
    added = add_suppressions(warehouse, pd.concat(incoming, ignore_index=True))
    log.info("consent sync: %d new suppressions (%d pulled from SendGrid)", added, pulled)
    return {"new_suppressions": added, "pulled_from_provider": pulled}


def cancel_forbidden(warehouse: Warehouse, policy, now: datetime) -> dict:
    """Cancel every scheduled touch of the current plan (the latest on or before ``now``,
    the wall clock) that consent known now forbids;
    each cancellation also writes a ``calendar_decisions`` row (decision suppressed, rule
    1.consent, the suppression reason as detail — never the email).

    The warehouse decides which touches (``handoff/forbidden_touches.sql``, the rules of
    :func:`forbidden_reasons`) and only those are read, column-wise: the whole calendar
    read as rows took 20 s at a million touches."""
    plan_date = store.latest_plan_date(warehouse, now.date())
    if plan_date is None:
        return {"plan_date": None, "cancelled": 0}
    cancelled = warehouse.read_columns(
        store.sql(warehouse, "forbidden_touches",
                  contact_emails=warehouse.table_exists("stg_contacts")),
        {"plan_date": plan_date})
    with warehouse.engine.begin() as conn:
        store.close_touches(conn, warehouse, cancelled["touch_id"], plan_date, "cancelled",
                            "consent: " + cancelled["detail"], now,
                            {"decision": "suppressed", "rule": "1.consent"},
                            details=cancelled["detail"])
    log.info("cancelled %d scheduled touches that consent forbids", len(cancelled))
    return {"plan_date": plan_date.isoformat(), "cancelled": len(cancelled)}
