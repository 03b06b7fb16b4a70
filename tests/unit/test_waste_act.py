"""The act step for superseded runs: an old reading, and a dead owner's open decision."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from jobwarden.act import Lease
from jobwarden.engine import decide
from jobwarden.ledger import Entry, Record
from jobwarden.model import Mode, Outcome, Settings, Verdict

from tests.conftest import NOW
from tests.unit.factories import policy
from tests.unit.test_sweep import FakeAdapter, fake_job, reset_fake, sweeper  # noqa: F401

CI = policy("ci", cancel_superseded=True, max_run_minutes=600)
ENFORCE = Settings(mode=Mode.ENFORCE)


def runs():
    older = replace(fake_job("web", 30), job_id="web:1", branch="branch/main")
    newer = replace(fake_job("web", 5), job_id="web:2", branch="branch/main")
    return older, newer


def test_an_old_reading_of_a_superseded_run_is_read_again_and_still_stopped():
    """A slow sweep reads the run again before stopping it (FRESH_FOR); the newer run it was
    judged against is carried along, so the fresh reading is judged the same."""
    older, newer = runs()
    FakeAdapter.jobs = {"us-east-1": [older, newer]}
    late = Lease(
        owner="slow", length=timedelta(minutes=15), clock=lambda: NOW + timedelta(minutes=5)
    )
    sweep, ledger, _ = sweeper(ENFORCE, CI, lease=late)

    sweep.run("fake", NOW)

    assert FakeAdapter.stops == ["web:1"]
    (entry,) = ledger.recorded
    assert (entry.verdict, entry.outcome, entry.linked) == (
        Verdict.SUPERSEDED,
        Outcome.STOPPED,
        "web:2",
    )


def test_a_dead_owners_superseded_decision_is_dropped_by_recovery_and_decided_again():
    """Recovery has no listing, so cannot tell whether the run is still superseded: it drops
    the open decision, and the sweep's own listing decides (and stops) it once."""
    older, newer = runs()
    FakeAdapter.jobs = {"us-east-1": [older, newer]}
    decision = decide(older, [CI], ENFORCE, NOW - timedelta(minutes=30), newer)
    dead = Record(
        entry=Entry.from_decision(decision),
        action="superseded",
        owner="dead",
        lease_until=NOW - timedelta(minutes=1),
        state="open",
    )
    sweep, ledger, alerts = sweeper(ENFORCE, CI)
    ledger.open(dead, NOW - timedelta(minutes=30))

    sweep.run("fake", NOW)

    assert FakeAdapter.stops == ["web:1"]
    assert ledger.open_records("fake", "us-east-1") == []
    assert [(e.job_id, e.outcome) for e in alerts.sent] == [("web:1", Outcome.STOPPED)]
