"""Warn before the stop: the engine's warn verdict, one ledger entry per job and limit through
the same write-ahead path, and deadlines that include the warning instant."""

from __future__ import annotations

from datetime import timedelta

from jobwarden.alerts import MemoryAlerts
from jobwarden.aws import Clients
from jobwarden.engine import decide, next_deadline, split_warnings
from jobwarden.ledger import MemoryLedger
from jobwarden.model import Action, Mode, Outcome, Settings, Verdict
from jobwarden.policies import Configuration
from jobwarden.render import is_digested
from jobwarden.sweep import Sweeper

from tests.conftest import NOW
from tests.unit.factories import job, policy
from tests.unit.test_sweep import LEASE, FakeAdapter, fake_job, sweeper

WARNED = policy("hourly", max_run_minutes=60, warn_at=0.8, notify=("tag:team",))
ENFORCE = Settings(mode=Mode.ENFORCE)


def test_a_job_past_the_share_of_its_limit_is_warned_with_the_time_left():
    decision = decide(job(run_minutes=50, tags={"team": "data"}), [WARNED], ENFORCE, NOW)
    assert decision.verdict is Verdict.WARN
    assert decision.reason == (
        "running 50 min, 83% of the 60 min limit of policy hourly; about 10 min left, "
        "then stopped at the limit"
    )
    (warning,) = decision.warnings
    assert (warning.key, warning.left_minutes) == ("run-60", 10.0)
    assert decision.owners == ("data",)


def test_below_the_share_it_is_ok_and_past_the_limit_it_is_a_stop():
    assert decide(job(run_minutes=47), [WARNED], ENFORCE, NOW).verdict is Verdict.OK
    assert decide(job(run_minutes=61), [WARNED], ENFORCE, NOW).verdict is Verdict.STOP


def test_a_dry_run_warning_says_nothing_will_be_stopped_and_waits_for_the_digest():
    from jobwarden.ledger import Entry

    decision = decide(job(run_minutes=50), [WARNED], Settings(), NOW)
    assert decision.reason.endswith("then a dry run only records the stop")
    assert is_digested(Entry.from_decision(decision, Outcome.WARNED))


def test_no_warning_without_warn_at_for_notify_policies_or_exempt_jobs():
    assert decide(job(run_minutes=59), [policy(max_run_minutes=60)], ENFORCE, NOW).verdict is (
        Verdict.OK
    )
    notify = policy(max_run_minutes=60, warn_at=0.5, action=Action.NOTIFY)
    assert decide(job(run_minutes=59), [notify], ENFORCE, NOW).verdict is Verdict.OK
    exempt = job(run_minutes=59, tags={"jobwarden:exempt": "true"})
    assert decide(exempt, [WARNED], ENFORCE, NOW).verdict is Verdict.EXEMPT


def test_two_limits_near_at_once_are_two_warnings():
    both = policy(max_run_minutes=60, max_cost_usd=0.26, warn_at=0.8)
    decision = decide(job(run_minutes=50), [both], ENFORCE, NOW)  # $0.005/min small Linux
    assert [w.limit for w in decision.warnings] == ["run", "cost"]
    parts = split_warnings(decision)
    assert [p.warnings[0].key for p in parts] == ["run-60", "cost-0.26"]
    assert parts[1].reason.startswith("estimated cost $0.25, 96% of the $0.26 limit")


def test_a_warning_is_recorded_once_per_job_and_limit_and_the_stop_still_comes():
    FakeAdapter.jobs = {"us-east-1": [fake_job("slow", 50, tags={"team": "data"})]}
    sweep, ledger, alerts = sweeper(ENFORCE, WARNED)
    sweep.run("fake", NOW)
    sweep.run("fake", NOW)  # a second sweep finds the warning settled: no second one
    (warned,) = ledger.recorded
    assert (warned.verdict, warned.outcome, warned.limit) == ("warn", "warned", "run-60")
    assert warned.owners == ("data",)
    assert [entry.outcome for entry in alerts.sent] == [Outcome.WARNED]  # at once: enforcing
    FakeAdapter.jobs = {"us-east-1": [fake_job("slow", 61, tags={"team": "data"})]}
    sweep.run("fake", NOW)
    assert FakeAdapter.stops == ["slow:1"]
    assert [entry.outcome for entry in alerts.sent] == [Outcome.WARNED, Outcome.STOPPED]


def test_a_changed_limit_is_a_new_limit_and_warned_anew():
    FakeAdapter.jobs = {"us-east-1": [fake_job("slow", 50)]}
    ledger, alerts = MemoryLedger(), MemoryAlerts()
    for version in (WARNED, WARNED, policy("hourly", max_run_minutes=62, warn_at=0.8)):
        configuration = Configuration(ENFORCE, (version,))
        Sweeper(
            Clients(default_region="us-east-1"),
            ledger,
            alerts,
            configuration,
            adapters={"fake": FakeAdapter},
            lease=LEASE,
        ).run("fake", NOW)
    assert sorted(e.limit for e in ledger.recorded) == ["run-60", "run-62"]


def test_deadlines_include_the_warning_instant_then_the_limit():
    running = job(run_minutes=10)
    started = running.started_at
    assert started is not None
    assert next_deadline(running, WARNED, {}) == started + timedelta(minutes=48)
    after_warning = started + timedelta(minutes=49)
    assert next_deadline(running, WARNED, {}, after=after_warning) == started + timedelta(
        minutes=60
    )
    queued = job(run_minutes=None, queued_minutes=5)
    queue = policy(max_queue_minutes=100, warn_at=0.5)
    assert next_deadline(queued, queue, {}) == queued.submitted_at + timedelta(minutes=50)
