"""``make demo``: sample sources for a day, ``cadence_nightly`` then ``cadence_hourly``
through Airflow (``airflow dags test`` on SQLite metadata under ``.airflow/``), then a
short summary of what was built and where the outputs are."""

from __future__ import annotations

import json
import os
import shutil
from contextlib import ExitStack
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import perf_counter

from cadence.contract.settings import CONFIG_DIR, PROJECT_ROOT, Settings, load_settings
from cadence.devtools.airflow_cli import DagRunFailed, dags_test, failed_tasks, prepare_metadata

AIRFLOW_HOME = PROJECT_ROOT / ".airflow"
HISTORY_DAYS = 28  # the past month planned and sent before the demo's day
WHATIF_DAYS = 3
WHATIF_POLICY = CONFIG_DIR / "whatif_3_per_week.yml"
DEMO_OVERLAY = CONFIG_DIR / "demo.yml"  # the demo's own keys: stand-in CRM and SMS, ...


def _clear_outputs(settings: Settings) -> None:
    # A fresh demo: the outbox answers only this run's sends, the warehouse only its plans.
    # Only the default embedded warehouse is removed, never one the environment names.
    shutil.rmtree(settings.out_dir / "outbox", ignore_errors=True)
    if settings.warehouse_url == load_settings({}).warehouse_url:
        Path(settings.warehouse_url.removeprefix("duckdb:///")).unlink(missing_ok=True)


def _demo_policy(base: Path, path: Path) -> Path:
    # The policy the demo runs under: the configured one with DEMO_OVERLAY deep-merged in,
    # validated, written to ``path``.
    import yaml

    from cadence.contract.policy_section import deep_merge
    from cadence.policy import parse_policy

    merged = deep_merge(yaml.safe_load(base.read_text()) or {},
                        yaml.safe_load(DEMO_OVERLAY.read_text()))
    parse_policy(merged, source=DEMO_OVERLAY.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(merged, sort_keys=False))
    return path


def _start_stand_ins(stack: ExitStack, source_dir: Path, policy):
    # The stand-in HubSpot (seeded from the sample) and Twilio on 127.0.0.1, and the
    # connections of the demo's Airflow runs pointing at them; all gone when the demo ends.
    from cadence.devtools.hubspot_stand_in import TOKEN, hubspot_from_sample, serve
    from cadence.devtools.stand_ins import StandIn

    push = policy.connectors.health_push
    hubspot = hubspot_from_sample(source_dir, {
        "companies": set(push.company_properties.values()),
        "contacts": set(push.contact_properties.values())})
    server = serve(hubspot)
    stack.callback(server.server_close)
    stack.callback(server.shutdown)
    twilio = StandIn("twilio").start()
    stack.callback(twilio.stop)
    env = {f"AIRFLOW_CONN_{policy.connectors.hubspot.conn_id.upper()}": json.dumps(
               {"conn_type": "http", "host": hubspot.url, "password": TOKEN}),
           f"AIRFLOW_CONN_{policy.handoff.twilio.conn_id.upper()}": twilio.connection_env()}
    for name, value in env.items():
        stack.callback(os.environ.pop, name, None)
        os.environ[name] = value
    return hubspot, twilio


def _crm_defaults(hubspot, policy, out_dir: Path) -> list[str]:
    # A new CRM user's first load: the stand-in portal read through the real HubSpot
    # connector into a scratch store; what the standard fields filled.
    from cadence.connectors.http import Credentials
    from cadence.connectors.hubspot import HubSpotClient, HubSpotSource
    from cadence.contract.entities import ENTITIES
    from cadence.contract.warehouse import Warehouse
    from cadence.devtools.hubspot_stand_in import TOKEN
    from cadence.devtools.playbook_summary import crm_default_lines

    settings = policy.connectors.hubspot
    scratch = out_dir / "demo_crm_defaults.duckdb"
    scratch.parent.mkdir(parents=True, exist_ok=True)
    scratch.unlink(missing_ok=True)
    store = Warehouse(f"duckdb:///{scratch}")
    client = HubSpotClient(Credentials(hubspot.url, None, TOKEN), policy.connectors.http,
                           settings.page_size, settings.search_limit)
    source = HubSpotSource(store, settings, client, "demo_crm_defaults", datetime.now(UTC),
                           policy.quality.threshold)
    read = {name: source.read(ENTITIES[name]) for name in ("accounts", "contacts", "csms")}
    store.engine.dispose()
    scratch.unlink()
    hubspot.requests.clear()  # what the nightly sends is counted on its own
    zoned = {i for i, o in hubspot.objects["companies"].items() if o["properties"]["timezone"]}
    return crm_default_lines(read["accounts"], read["contacts"], read["csms"], zoned)


def _crm_writes(hubspot, twilio, warehouse, policy, as_of: date) -> list[str]:
    # What the nightly sent the stand-in HubSpot, then the same writes again in this
    # process (incremental, once per cooldown: nothing more is sent), and the hourly's SMS.
    from cadence.connectors.http import Credentials
    from cadence.connectors.hubspot import HubSpotClient
    from cadence.devtools.hubspot_stand_in import TOKEN
    from cadence.devtools.playbook_summary import crm_write_counts, crm_write_lines
    from cadence.outputs.expansion_deals import open_expansion_deals
    from cadence.outputs.health_push import push_health_properties

    nightly = crm_write_counts(hubspot.requests)
    hubspot.requests.clear()
    client = HubSpotClient(Credentials(hubspot.url, None, TOKEN), policy.connectors.http)
    now = datetime.now(UTC)
    push = push_health_properties(warehouse, policy.connectors, as_of, now, client)
    deals = open_expansion_deals(warehouse, policy.connectors, as_of, now, "hubspot", client)
    numbers = {m.body.get("To") for m in twilio.accepted}
    return [*crm_write_lines(nightly, crm_write_counts(hubspot.requests), push, deals),
            f"  SMS sent by the hourly through the Twilio stand-in: {len(twilio.accepted)}"
            f" messages to {len(numbers)} numbers (Messages API, form-encoded)"]


def run_demo(accounts: int, as_of: date, seed: int = 7) -> int:
    """Run the demo end to end; return the process exit code."""
    with ExitStack() as stack:
        return _run_demo(stack, accounts, as_of, seed)


def _run_demo(stack: ExitStack, accounts: int, as_of: date, seed: int) -> int:
    from cadence.contract.warehouse import connect
    from cadence.devtools.playbook_summary import playbook_summary
    from cadence.devtools.sample import write_sample
    from cadence.devtools.sample_engagement import write_engagement_from_outbox
    from cadence.learning.summary import learning_summary
    from cadence.learning.whatif import format_comparison, run_whatif
    from cadence.outputs.csm_tasks import task_summary
    from cadence.outputs.report import format_text, summarize
    from cadence.policy import load_policy

    started = perf_counter()
    # The demo's runs read the policy with include/config/demo.yml merged in.
    stack.callback(os.environ.pop, "CADENCE_POLICY", None)
    os.environ["CADENCE_POLICY"] = str(_demo_policy(load_settings().policy_path,
                                                    AIRFLOW_HOME / "demo-policy.yml"))
    settings = load_settings()
    policy = load_policy(settings.policy_path)
    logs = AIRFLOW_HOME / "demo-logs"

    print(f"1/7 sample sources: {accounts} accounts as of {as_of} -> {settings.source_dir}")
    write_sample(settings.source_dir, accounts=accounts, seed=seed, as_of=as_of)
    _clear_outputs(settings)
    hubspot, twilio = _start_stand_ins(stack, settings.source_dir, policy)
    print(f"    stand-ins on 127.0.0.1 for the demo only: HubSpot {hubspot.url} (the sample's "
          f"companies and contacts), Twilio {twilio.url}; policy + {DEMO_OVERLAY.name}")
    crm_defaults = _crm_defaults(hubspot, policy, settings.out_dir)

    print(f"2/7 Airflow metadata (SQLite) in {AIRFLOW_HOME}")
    prepare_metadata(AIRFLOW_HOME)

    # A past month first, so there is something to learn from: the nightly plan of
    # HISTORY_DAYS ago, replayed through the outbox provider (simulation), and the
    # recipients' answers to what was sent.
    past = as_of - timedelta(days=HISTORY_DAYS)
    past_at = datetime.combine(past, time(), tzinfo=UTC)
    # The hourly run is about the hour that has just started on the demo's day, so it is
    # live: touches due in its window go to the outbox provider.
    hourly_at = datetime.combine(as_of, time(datetime.now(UTC).hour), tzinfo=UTC)
    try:
        print(f"3/7 airflow dags test cadence_nightly {past} (the past month's plan)")
        dags_test("cadence_nightly", past, AIRFLOW_HOME, log_path=logs / "nightly_past.log")
        print(f"4/7 airflow dags test cadence_hourly {past_at.isoformat()} (simulation: the "
              f"month replayed through the outbox)")
        dags_test("cadence_hourly", past_at, AIRFLOW_HOME, log_path=logs / "hourly_past.log",
                  conf={"simulation": True, "lookahead_hours": HISTORY_DAYS * 24},
                  allowed_failures={"check_consent_rows"})
        answered = write_engagement_from_outbox(
            settings.out_dir, settings.source_dir, seed,
            datetime.combine(as_of, time(), tzinfo=UTC))
        print(f"    {answered} engagement events answer the month's sends "
              f"-> {settings.source_dir / 'engagement_events.csv'}")
        print(f"5/7 airflow dags test cadence_nightly {as_of}")
        dags_test("cadence_nightly", as_of, AIRFLOW_HOME, log_path=logs / "nightly.log")
        print(f"6/7 airflow dags test cadence_hourly {hourly_at.isoformat()}")
        hourly_log = dags_test("cadence_hourly", hourly_at, AIRFLOW_HOME,
                               log_path=logs / "hourly.log", conf={"lookahead_hours": 48},
                               allowed_failures={"check_consent_rows"})
    except DagRunFailed as exc:
        print(exc)
        print(f"full logs: {logs}")
        return 1

    warehouse = connect(settings)
    if "check_consent_rows" in failed_tasks(hourly_log):
        # the sample carries broken consent rows on purpose: their contacts are held
        held = warehouse.read_table("consent_holds")
        print(f"    check_consent_rows failed as it should: {held['row_number'].nunique()} "
              f"consent rows cannot be read, {held['contact_id'].nunique()} contacts held "
              "(table consent_holds, rows in quarantine)")
    print()
    print(format_text(summarize(warehouse, as_of, policy)))
    print()
    _by_class(warehouse, as_of)
    print()
    print(playbook_summary(warehouse, as_of, [
        *_crm_writes(hubspot, twilio, warehouse, policy, as_of), *crm_defaults]))
    print()
    print("CSM tasks")
    for key, value in task_summary(warehouse, as_of).items():
        print(f"  {key:<44} {value}")
    print()
    print(learning_summary(warehouse, as_of))
    print()
    last = as_of + timedelta(days=WHATIF_DAYS - 1)
    print(f"7/7 what-if {as_of} to {last}: {WHATIF_POLICY.name} vs the policy "
          "(replayed in scenario stores; nothing sent)")
    result = run_whatif(warehouse, policy, as_of, last,
                        settings.out_dir, policy_file=WHATIF_POLICY)
    print(format_comparison(result["comparison"]))
    print(f"  page {result['page']}")
    print()
    _where(settings.out_dir, as_of, logs, settings.warehouse_url)
    print(f"demo finished in {perf_counter() - started:.0f} s")
    return 0


def _by_class(warehouse, as_of: date) -> None:
    # DESIGN §7 priority classes: protected ones are never dropped, only escalated.
    from cadence.planner.priority import class_outcomes
    from cadence.policy import load_policy

    params = {"as_of": as_of}
    candidates = warehouse.read_frame(
        warehouse.render("planner/candidates.sql", in_shard=False), params)
    decisions = warehouse.read_frame(warehouse.render("planner/decisions.sql"), params)
    table = class_outcomes(candidates, decisions, load_policy().classes)
    print("Touches by priority class (candidates -> decisions)")
    print("\n".join("  " + line for line in table.to_string(index=False).splitlines()))


def _where(out_dir: Path, as_of: date, logs: Path, warehouse_url: str) -> None:
    print("Where things are")
    print(f"  warehouse       {warehouse_url}")
    print(f"  report          {out_dir / 'reports' / f'plan_{as_of.isoformat()}.html'}")
    print(f"  experiments     {out_dir / 'reports' / f'experiments_{as_of.isoformat()}.html'}")
    print(f"  CSM task feeds  {out_dir / 'csm_tasks'}/<owner>.ics (live iCalendar, subscribe)")
    print(f"  CSM task lists  {out_dir / 'csm_tasks'}/<owner>/<YYYY-Www>.csv (one per week)")
    print(f"  outbox batches  {out_dir / 'outbox'}")
    print(f"  Airflow logs    {logs}")
