"""Policy section ``connectors``: how the CRM and usage connectors map and fetch data.

Which CRM property feeds which cadence column (DESIGN §4 names) is data here, not code.
Every mapping names a CRM property per cadence column; ``values`` translates CRM values
(a deal stage, a lifecycle stage) into the contract's values.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cadence.policy_section import Section


class HttpPolicy(Section):
    """Bounded retries of every connector request (429, 5xx and connection errors)."""

    retries: int = Field(5, ge=0, le=20)
    backoff_seconds: float = Field(1.0, ge=0)  # doubled on each retry
    max_backoff_seconds: float = Field(60.0, ge=0)
    timeout_seconds: float = Field(30.0, gt=0)


class ObjectMapping(Section):
    """Columns of one cadence entity read from one CRM object."""

    # cadence column -> CRM property (HubSpot) or field (Salesforce).
    columns: dict[str, str] = Field(default_factory=dict)
    # cadence column -> {CRM value: cadence value}; values not listed pass unchanged, so
    # validation quarantines them instead of losing them.
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    # Keep only records whose field equals the value, e.g. {pipeline: renewals}.
    only: dict[str, str] = Field(default_factory=dict)


def _hubspot_company() -> ObjectMapping:
    return ObjectMapping(
        columns={
            "name": "name",
            "industry": "industry",
            "country": "country",
            "csm_id": "hubspot_owner_id",
            "contract_start": "hs_lifecyclestage_customer_date",
            "status": "lifecyclestage",
            "updated_at": "hs_lastmodifieddate",
        },
        values={
            "status": {
                "customer": "active",
                "evangelist": "active",
                "opportunity": "trial",
                "other": "churned",
            }
        },
    )


def _hubspot_deal() -> ObjectMapping:
    return ObjectMapping(
        columns={"renewal_date": "closedate", "arr": "amount", "renewal_status": "dealstage"},
        values={
            "renewal_status": {
                "appointmentscheduled": "open",
                "qualifiedtobuy": "open",
                "presentationscheduled": "open",
                "decisionmakerboughtin": "open",
                "contractsent": "committed",
                "closedwon": "renewed",
                "closedlost": "lost",
            }
        },
    )


def _hubspot_contact() -> ObjectMapping:
    return ObjectMapping(
        columns={
            "email": "email",
            "first_name": "firstname",
            "last_name": "lastname",
            "locale": "hs_language",
            "phone": "phone",
            "updated_at": "lastmodifieddate",
        }
    )


class HubSpotPolicy(Section):
    """HubSpot CRM v3: companies + renewal deals -> accounts, contacts, owners -> csms."""

    conn_id: str = "hubspot_default"
    page_size: int = Field(100, ge=1, le=100)
    # The search API stops at 10,000 results per query; the connector re-anchors there.
    search_limit: int = Field(10_000, ge=1)
    company: ObjectMapping = Field(default_factory=_hubspot_company)
    deal: ObjectMapping = Field(default_factory=_hubspot_deal)
    contact: ObjectMapping = Field(default_factory=_hubspot_contact)
    # Owners carry no manager: an owner's manager is named here, else the manager of the
    # owner's primary team (owner ids; escalations go to the manager, csms.manager_id).
    owner_managers: dict[str, str] = Field(default_factory=dict)
    team_managers: dict[str, str] = Field(default_factory=dict)
    # Property holding the last-modified time of each object (contacts differ).
    modified_property: dict[str, str] = Field(
        default_factory=lambda: {
            "companies": "hs_lastmodifieddate",
            "deals": "hs_lastmodifieddate",
            "contacts": "lastmodifieddate",
        }
    )


def _salesforce_account() -> ObjectMapping:
    return ObjectMapping(
        columns={
            "name": "Name",
            "industry": "Industry",
            "country": "BillingCountryCode",
            "csm_id": "OwnerId",
            "contract_start": "CreatedDate",
            "status": "Type",
            "updated_at": "LastModifiedDate",
        },
        values={
            "status": {
                "Customer - Direct": "active",
                "Customer - Channel": "active",
                "Prospect": "trial",
                "Other": "churned",
            }
        },
    )


def _salesforce_opportunity() -> ObjectMapping:
    return ObjectMapping(
        columns={"renewal_date": "CloseDate", "arr": "Amount", "renewal_status": "StageName"},
        values={
            "renewal_status": {
                "Prospecting": "open",
                "Qualification": "open",
                "Needs Analysis": "open",
                "Negotiation/Review": "committed",
                "Closed Won": "renewed",
                "Closed Lost": "lost",
            }
        },
        only={"Type": "Renewal"},
    )


def _salesforce_contact() -> ObjectMapping:
    return ObjectMapping(
        columns={
            "account_id": "AccountId",
            "email": "Email",
            "first_name": "FirstName",
            "last_name": "LastName",
            "phone": "Phone",
            "updated_at": "LastModifiedDate",
        }
    )


def _salesforce_user() -> ObjectMapping:
    return ObjectMapping(
        columns={"name": "Name", "email": "Email", "timezone": "TimeZoneSidKey",
                 "manager_id": "ManagerId"},
        only={"IsActive": "true"},
    )


class SalesforcePolicy(Section):
    """Salesforce REST: Account + renewal Opportunity -> accounts, Contact, User -> csms."""

    conn_id: str = "salesforce_default"
    api_version: str = Field("v61.0", pattern=r"^v\d+\.\d$")
    account: ObjectMapping = Field(default_factory=_salesforce_account)
    opportunity: ObjectMapping = Field(default_factory=_salesforce_opportunity)
    contact: ObjectMapping = Field(default_factory=_salesforce_contact)
    user: ObjectMapping = Field(default_factory=_salesforce_user)


class UsagePolicy(Section):
    """Product usage (usage_daily) from the warehouse or from date-partitioned files."""

    # warehouse: run ``query`` with ``:since`` bound; files: read
    # ``<path>/usage_date=YYYY-MM-DD/*.parquet|csv`` (path relative to the source folder).
    mode: Literal["warehouse", "files"] = "files"
    query: str | None = None
    path: str = "usage_daily"
    # Days before the last loaded day read again, so late-arriving rows are picked up.
    lookback_days: int = Field(3, ge=0)


class CrmTasksPolicy(Section):
    """Where CSM tasks go besides the CSV/iCalendar lists."""

    crm: Literal["none", "hubspot", "salesforce"] = "none"
    # HubSpot-defined association type ids of a task to its company and contact.
    hubspot_company_association: int = 192
    hubspot_contact_association: int = 204
    # csm_tasks.priority (candidates.priorities numbers) at or above: high; below low: low.
    high_priority_min: int = 80
    low_priority_below: int = 50


class ConnectorsPolicy(Section):
    """The ``connectors`` policy section."""

    http: HttpPolicy = HttpPolicy()
    hubspot: HubSpotPolicy = HubSpotPolicy()
    salesforce: SalesforcePolicy = SalesforcePolicy()
    usage: UsagePolicy = UsagePolicy()
    crm_tasks: CrmTasksPolicy = CrmTasksPolicy()
