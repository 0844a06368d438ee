"""What `make demo` shows of the CRM and SMS plays: a stand-in HubSpot seeded from the
sample, read back through the real connector, and written to by the health push and
expansion deals; the demo's policy overlay; the summary lines counting what was received."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from cadence.connectors.http import Credentials
from cadence.connectors.hubspot import HubSpotClient, HubSpotSource
from cadence.connectors.policy import HttpPolicy
from cadence.contract.entities import ENTITIES
from cadence.devtools.hubspot_stand_in import TOKEN, hubspot_from_sample, serve
from cadence.devtools.playbook_summary import (
    crm_default_lines,
    crm_write_counts,
    crm_write_lines,
    sms_lines,
)
from cadence.devtools.sample import write_sample
from cadence.policy import load_policy

AS_OF = date(2026, 11, 23)
FAST = HttpPolicy(retries=2, backoff_seconds=0, max_backoff_seconds=0, timeout_seconds=5)


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    write_sample(out, accounts=40, seed=7, as_of=AS_OF)
    return out


@pytest.fixture
def portal(sample_dir):
    fake = hubspot_from_sample(sample_dir, {"companies": {"cadence_health_band"}})
    server = serve(fake)
    yield fake
    server.shutdown()
    server.server_close()


def test_the_sample_read_back_from_hubspot_standard_fields_keeps_zones_roles_and_csms(
        portal, sample_dir, warehouse):
    policy = load_policy().connectors
    client = HubSpotClient(Credentials(portal.url, None, TOKEN), FAST)
    source = HubSpotSource(warehouse, policy.hubspot, client, "r1",
                           datetime(2026, 11, 23, 2, tzinfo=UTC), lambda _entity: 0.5)
    accounts = source.read(ENTITIES["accounts"]).set_index("account_id")
    contacts = source.read(ENTITIES["contacts"]).set_index("contact_id")
    csms = source.read(ENTITIES["csms"])

    sample = pd.read_csv(sample_dir / "accounts.csv", dtype=str).dropna(
        subset=["account_id"]).drop_duplicates("account_id", keep="last").set_index(
        "account_id")
    both = sample.index.intersection(accounts.index)
    assert len(both) >= 40
    zoned = pd.Series({i: bool(portal.objects["companies"][i]["properties"]["timezone"])
                       for i in both})
    # A company with a timezone keeps it (HubSpot's spelling read back); the others get
    # their country's main zone instead of the default one: the sample's zone either way.
    assert 0 < zoned.sum() < len(both)
    assert (accounts.loc[both, "timezone"] == sample.loc[both, "timezone"]).all()
    assert (accounts.loc[both, "csm_id"].fillna("") == sample.loc[both, "csm_id"].fillna(
        "")).all()  # the owner is the CSM
    people = pd.read_csv(sample_dir / "contacts.csv", dtype=str).dropna(
        subset=["contact_id", "role"]).drop_duplicates("contact_id", keep="last").set_index(
        "contact_id")
    known = people.index.intersection(contacts.index)
    # The role rules turn the job titles back into the sample's roles.
    assert len(known) > 100 and (contacts.loc[known, "role"] == people.loc[known, "role"]).all()

    lines = crm_default_lines(accounts.reset_index(), contacts.reset_index(), csms,
                              {i for i, o in portal.objects["companies"].items()
                               if o["properties"]["timezone"]})
    assert lines[0].startswith(f"  CRM defaults (HubSpot stand-in, standard fields only): "
                               f"{len(accounts)} accounts: timezone {int(zoned.sum())} from"
                               f" timezone + ")
    assert f"role {len(contacts['role'].dropna())} from jobtitle" in lines[1]


def test_health_push_and_deal_creates_are_counted_from_what_the_stand_in_received(portal):
    client = HubSpotClient(Credentials(portal.url, None, TOKEN), FAST)
    ids = sorted(portal.objects["companies"])[:3]
    client.batch_update("companies", [{"id": i, "properties": {"cadence_health_band": "red"}}
                                      for i in ids])
    client.create_deal({"properties": {"dealname": "Expansion"}, "associations": []})
    counts = crm_write_counts(portal.requests)
    assert counts == {"companies": 3, "contacts": 0, "batches": 1, "deals": 1}
    assert portal.objects["companies"][ids[0]]["properties"]["cadence_health_band"] == "red"

    push, deals = crm_write_lines(counts, crm_write_counts([]), {"unchanged": 3},
                                  {"opened": 0, "in_cooldown": 1})
    assert push == ("  health push (HubSpot stand-in): 3 companies, 0 contacts updated in 1"
                    " batches; rerun: 0 changes sent (3 unchanged, incremental)")
    assert deals == ("  expansion deals (HubSpot stand-in): 1 deals created with the evidence;"
                     " rerun: 0 created, 1 in cooldown (no duplicates)")


def test_sms_lines_show_urgent_sms_and_the_refusal_naming_the_rule():
    refused = ("sms only for urgent classes (transactional, lifecycle_critical); this touch"
               " is educational: use email or in-app")
    sms = pd.DataFrame([("transactional", "scheduled", "", 5),
                        ("transactional", "suppressed", "contact has no phone number: no sms",
                         1),
                        ("educational", "suppressed", refused, 6)],
                       columns=["message_type", "decision", "why", "candidates"])
    urgent, other, *why = sms_lines(sms)
    assert urgent.endswith("6 candidates: 5 scheduled, 1 suppressed")
    assert other.endswith("6 candidates: 6 suppressed")
    assert why == ["    1 refused: contact has no phone number: no sms",
                   f"    6 refused: {refused}"]


def test_the_demo_policy_is_the_policy_plus_the_demo_overlay_and_production_stays_clean(
        tmp_path):
    from cadence.contract.settings import CONFIG_DIR
    from cadence.devtools.demo import _demo_policy

    shipped = load_policy()
    assert shipped.candidates.account_overrides == {}
    assert shipped.connectors.health_push.crm == "none"
    assert shipped.handoff.channel_providers["sms"] == "outbox"

    demo = load_policy(_demo_policy(CONFIG_DIR / "policy.yml", tmp_path / "demo.yml"))
    assert demo.connectors.health_push.crm == "hubspot"
    assert demo.connectors.expansion_deals.crm == "hubspot"
    assert demo.handoff.channel_providers == {"email": "outbox", "in_app": "outbox",
                                              "sms": "twilio"}
    assert demo.handoff.twilio.bodies["tpl-security-sms"].startswith("{company}: ")
    assert demo.candidates.account_overrides["acc-000021"].preferred_channel == "in_app"
    # everything else is the shipped policy
    assert demo.planner == shipped.planner and demo.classes == shipped.classes
