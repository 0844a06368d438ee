"""Policy section ``connectors``: how the CRM and usage connectors map and fetch data.

Which CRM property feeds which cadence column (DESIGN §4 names) is data here, not code.
Every mapping names a CRM property per cadence column; ``values`` translates CRM values
(a deal stage, a lifecycle stage) into the contract's values.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cadence.contract.policy_section import Section
from cadence.contract.policy_types import Regex


class HttpPolicy(Section):
    """Bounded retries of every connector request (429, 5xx and connection errors)."""

    retries: int = Field(5, ge=0, le=20)
    backoff_seconds: float = Field(1.0, ge=0)  # doubled on each retry
    max_backoff_seconds: float = Field(60.0, ge=0)
    timeout_seconds: float = Field(30.0, gt=0)


class TextRule(Section):
    """A regular expression (case-insensitive, searched anywhere in the text) and the
    contract value a matching text becomes, e.g. a job title -> role executive."""

    match: Regex
    value: str


class ObjectMapping(Section):
    """Columns of one cadence entity read from one CRM object."""

    # cadence column -> CRM property (HubSpot) or field (Salesforce); a custom property
    # named here wins over the standard field under ``defaults``.
    columns: dict[str, str] = Field(default_factory=dict)
    # cadence column -> the CRM's standard property, read when ``columns`` gives nothing.
    defaults: dict[str, str] = Field(default_factory=dict)
    # cadence column -> ordered rules turning a default's free text (a job title) into a
    # contract value: the first match wins, no match leaves the column empty.
    rules: dict[str, list[TextRule]] = Field(default_factory=dict)
    # An account without a timezone takes its country's main zone (the tz database's
    # first zone of the country), so its sends do not fall back to the policy default.
    timezone_from_country: bool = False
    # cadence column -> {CRM value: cadence value}; values not listed pass unchanged, so
    # validation quarantines them instead of losing them.
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    # Keep only records whose field equals the value, e.g. {pipeline: renewals}.
    only: dict[str, str] = Field(default_factory=dict)

    def properties(self) -> set[str]:
        """Every CRM property the mapping reads."""
        return {*self.columns.values(), *self.defaults.values(), *self.only}


# Job title -> contacts.role, first match wins; titles that match nothing else are users.
TITLE_ROLES: tuple[tuple[str, str], ...] = (
    (r"\b(ceo|cfo|cto|coo|cio|ciso|cro|cmo|cpo|chief|president|founder|co-founder"
     r"|vp|svp|evp|vice president|head of|managing director|general manager)\b",
     "executive"),
    (r"\b(billing|accounts payable|procurement|purchasing|finance|financial|controller"
     r"|accountant|bookkeeper)\b", "billing"),
    (r"\b(admin|administrator|sysadmin|it|systems?|devops|infrastructure|platform"
     r"|security|operations engineer)\b", "admin"),
    (r"\b(director|manager|lead|team lead|principal|architect|product owner)\b", "champion"),
    (r"\w", "user"),
)


def _title_roles() -> dict[str, list[TextRule]]:
    return {"role": [TextRule(match=m, value=v) for m, v in TITLE_ROLES]}


def _hubspot_company() -> ObjectMapping:
    return ObjectMapping(
        columns={
            "name": "name",
            "industry": "industry",
            "csm_id": "hubspot_owner_id",
            "contract_start": "hs_lifecyclestage_customer_date",
            "status": "lifecyclestage",
            "updated_at": "hs_lastmodifieddate",
        },
        # annualrevenue is the company's revenue, used as ARR only where no renewal deal
        # gives one (an account without ARR is rejected). numberofemployees is read for
        # nothing by default: as seats it would score every large customer's usage low.
        defaults={"country": "country", "timezone": "timezone", "arr": "annualrevenue"},
        timezone_from_country=True,
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
        },
        defaults={"timezone": "hs_timezone", "role": "jobtitle"},
        rules=_title_roles(),
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
            "csm_id": "OwnerId",
            "contract_start": "CreatedDate",
            "status": "Type",
            "updated_at": "LastModifiedDate",
        },
        defaults={"country": "BillingCountry", "arr": "AnnualRevenue"},
        timezone_from_country=True,
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
        },
        defaults={"role": "Title"},
        rules=_title_roles(),
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


HealthField = Literal["score", "band", "tier", "stage", "signals"]


class HealthPushPolicy(Section):
    """Health, band, tier, stage and signals pushed to HubSpot as company (and contact)
    properties, so the marketing tool's own campaigns can respect them. The account ids
    must be HubSpot company ids (accounts sourced from HubSpot)."""

    crm: Literal["none", "hubspot"] = "none"
    # field -> HubSpot property (create them in the portal first: number, text and a
    # multiple checkboxes property for signals, values joined with ";").
    company_properties: dict[HealthField, str] = Field(default_factory=lambda: {
        "score": "cadence_health_score", "band": "cadence_health_band",
        "tier": "cadence_tier", "stage": "cadence_stage", "signals": "cadence_signals"})
    # Contacts carry their account's values: lists and workflows enrol contacts.
    contact_properties: dict[HealthField, str] = Field(default_factory=lambda: {
        "band": "cadence_health_band", "tier": "cadence_tier", "stage": "cadence_stage"})
    batch_size: int = Field(100, ge=1, le=100)  # the batch API takes at most 100 inputs


class ExpansionDealsPolicy(Section):
    """An account with the expansion_ready signal becomes a HubSpot deal or a Salesforce
    opportunity for sales, with the evidence, at most once per cooldown."""

    crm: Literal["none", "hubspot", "salesforce"] = "none"
    cooldown_days: int = Field(90, ge=1)  # no second deal for an account within this
    close_in_days: int = Field(60, ge=1)  # the deal's expected close date after opening
    name: str = "Expansion: {account_name}"  # {account_name}, {account_id}
    hubspot_pipeline: str = "default"
    hubspot_stage: str = "appointmentscheduled"
    hubspot_company_association: int = 5  # HubSpot-defined deal -> company (primary)
    salesforce_stage: str = "Prospecting"
    salesforce_type: str = "Existing Customer - Upgrade"


class ConnectorsPolicy(Section):
    """The ``connectors`` policy section."""

    http: HttpPolicy = HttpPolicy()
    hubspot: HubSpotPolicy = HubSpotPolicy()
    salesforce: SalesforcePolicy = SalesforcePolicy()
    usage: UsagePolicy = UsagePolicy()
    crm_tasks: CrmTasksPolicy = CrmTasksPolicy()
    health_push: HealthPushPolicy = HealthPushPolicy()
    expansion_deals: ExpansionDealsPolicy = ExpansionDealsPolicy()
