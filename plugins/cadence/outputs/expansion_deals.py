"""Expansion in the CRM: an account with the expansion_ready signal becomes a HubSpot deal
or a Salesforce opportunity, owned by its CSM, with the evidence (seats used against
seats bought, the usage trend), at most once per ``cooldown_days`` (policy
``connectors.expansion_deals``).

Idempotent: ``crm_expansion_deals`` (crm × account_id × opened_on) records each deal as
soon as the CRM returns its id; an account with a deal opened within the cooldown (the
same day's rerun included) gets none. The create is never retried once sent, so a lost
answer cannot make two deals.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pandas as pd

from cadence.connectors.http import crm_client
from cadence.connectors.policy import ConnectorsPolicy, ExpansionDealsPolicy
from cadence.contract.warehouse import Warehouse

TABLE = "crm_expansion_deals"
COLUMNS = ["crm", "account_id", "crm_deal_id", "opened_on", "evidence", "created_at"]


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def evidence(row) -> str:
    """What the deal says about why: seats used against bought, the usage trend, ARR."""
    parts = []
    used, bought = _number(row.seats_used_7d), _number(row.seats_purchased)
    if used is not None and bought:
        parts.append(f"{used:.0f} of {bought:.0f} seats used in the last 7 days"
                     f" ({used / bought:.0%})")
    elif used is not None:
        parts.append(f"{used:.0f} seats used in the last 7 days")
    now, before = _number(row.active_users_30d), _number(row.active_users_prior_30d)
    if now is not None and before:
        parts.append(f"{now:.1f} active users a day over 30 days,"
                     f" {now / before - 1:+.0%} on the 30 days before")
    elif now is not None:
        parts.append(f"{now:.1f} active users a day over 30 days")
    arr = _number(row.arr)
    if arr is not None:
        parts.append(f"ARR {arr:,.0f}")
    return "Expansion ready (cadence signal expansion_ready): " + ("; ".join(parts)
                                                                    or "no usage figures")


def _name(row, policy: ExpansionDealsPolicy) -> str:
    return policy.name.format(account_name=row.account_name or row.account_id,
                              account_id=row.account_id)


def _has_csm(row) -> bool:
    return isinstance(row.csm_id, str) and bool(row.csm_id)


def due_deals(ready: pd.DataFrame, last_opened: dict[str, date], as_of: date,
              cooldown_days: int) -> pd.DataFrame:
    """The expansion-ready accounts without a deal opened in the ``cooldown_days`` up to
    ``as_of`` (a deal opened on ``as_of`` itself counts: a rerun opens none)."""
    since = as_of - timedelta(days=cooldown_days - 1)
    keep = [account not in last_opened or pd.Timestamp(last_opened[account]).date() < since
            for account in ready["account_id"]]
    return ready[keep]


def hubspot_deal(row, policy: ExpansionDealsPolicy, as_of: date) -> dict:
    """A SimplePublicObjectInputForCreate: the deal, its owner the CSM, associated with
    the company."""
    close = pd.Timestamp(as_of + timedelta(days=policy.close_in_days), tz="UTC")
    properties = {
        "dealname": _name(row, policy),
        "pipeline": policy.hubspot_pipeline,
        "dealstage": policy.hubspot_stage,
        "dealtype": "existingbusiness",
        "closedate": str(close.value // 1_000_000),
        "description": evidence(row),
    }
    if _has_csm(row):
        properties["hubspot_owner_id"] = row.csm_id
    return {"properties": properties, "associations": [{
        "to": {"id": str(row.account_id)},
        "types": [{"associationCategory": "HUBSPOT_DEFINED",
                   "associationTypeId": policy.hubspot_company_association}]}]}


def salesforce_opportunity(row, policy: ExpansionDealsPolicy, as_of: date) -> dict:
    """An Opportunity sObject on the account, owned by its CSM."""
    body = {
        "Name": _name(row, policy),
        "AccountId": str(row.account_id),
        "StageName": policy.salesforce_stage,
        "CloseDate": (as_of + timedelta(days=policy.close_in_days)).isoformat(),
        "Type": policy.salesforce_type,
        "Description": evidence(row),
    }
    if _has_csm(row):
        body["OwnerId"] = row.csm_id
    return body


def open_expansion_deals(warehouse: Warehouse, policy: ConnectorsPolicy, as_of: date,
                         now: datetime, crm: str, client=None) -> dict[str, int]:
    """Open a deal in ``crm`` for each expansion-ready account of ``as_of`` outside its
    cooldown; counts of ``opened`` and of ``in_cooldown`` accounts. ``client``: a
    HubSpotClient or SalesforceClient (default: from the CRM's Airflow connection)."""
    if crm not in ("hubspot", "salesforce"):
        raise ValueError(f"crm must be hubspot or salesforce, not {crm!r}")
    needed = ("segment_membership", "stg_accounts", "stg_usage_daily")
    if not all(warehouse.table_exists(t) for t in needed):
        return {"opened": 0, "in_cooldown": 0}
    deals = policy.expansion_deals
    ready = warehouse.read_frame(warehouse.render("crm_push/expansion_evidence.sql"),
                                 {"as_of": as_of})
    if not warehouse.table_exists(TABLE):
        warehouse.write_frame(TABLE, pd.DataFrame(columns=COLUMNS))
    last = warehouse.read_frame(warehouse.render("crm_push/last_expansion_deals.sql"),
                                {"crm": crm})
    todo = due_deals(ready, dict(zip(last["account_id"], last["last_opened"], strict=True)),
                     as_of, deals.cooldown_days)
    client = client or crm_client(policy, crm)
    build = hubspot_deal if crm == "hubspot" else salesforce_opportunity
    create = client.create_deal if crm == "hubspot" else client.create_opportunity
    for row in todo.itertuples(index=False):
        deal_id = create(build(row, deals, as_of))
        warehouse.write_frame(TABLE, pd.DataFrame([{
            "crm": crm, "account_id": row.account_id, "crm_deal_id": deal_id,
            "opened_on": as_of, "evidence": evidence(row),
            "created_at": pd.Timestamp(now)}]),
            replace_where={"crm": crm, "account_id": row.account_id, "opened_on": as_of})
    return {"opened": len(todo), "in_cooldown": len(ready) - len(todo)}
