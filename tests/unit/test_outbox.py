"""The outbox drain: urgent alerts at once, the rest as one digest per route, every entry
marked delivered only after each message carrying it was sent; an outage loses nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError
from jobwarden.alerts import MemoryAlerts
from jobwarden.ledger import Entry, MemoryLedger
from jobwarden.model import Mode, Outcome, Verdict
from jobwarden.outbox import Outbox
from jobwarden.render import DIGEST_MAX_ENTRIES, MAX_MESSAGE_BYTES, Context, Message

from tests.conftest import NOW

TEAM = "arn:aws:sns:us-east-1:123456789012:data-team"
CONTEXT = Context("jobwarden:exempt", "123456789012")


def entry(name: str, outcome: Outcome = Outcome.WOULD_STOP, **fields) -> Entry:
    verdict = {Outcome.NOTIFIED: Verdict.NOTIFY, Outcome.HELD: Verdict.HELD}.get(
        outcome, Verdict.STOP
    )
    mode = Mode.DRY_RUN if outcome is Outcome.WOULD_STOP else Mode.ENFORCE
    base = Entry(
        subject=f"codebuild#us-east-1#{name}:1",
        service="codebuild",
        region="us-east-1",
        at=NOW,
        verdict=verdict,
        outcome=outcome,
        mode=mode,
        reason=f"{name} is over a limit of policy p",
        job_id=f"{name}:1",
        job_name=name,
        policy="p",
    )
    return replace(base, **fields)


def outbox(*entries: Entry, **options) -> tuple[Outbox, MemoryLedger, MemoryAlerts]:
    ledger, alerts = MemoryLedger(), MemoryAlerts()
    for made in entries:
        ledger.record(made, made.subject)
    return Outbox(ledger, alerts, CONTEXT, **options), ledger, alerts


def kinds(messages: list[Message]) -> list[str]:
    return [str(m.attributes["kind"]) for m in messages]


def test_a_dry_run_sweep_is_one_digest_and_every_entry_is_delivered():
    box, ledger, alerts = outbox(*(entry(f"job{n}") for n in range(30)))
    assert box.drain("codebuild", NOW) == 0
    (digest,) = alerts.to(alerts.platform_topic)
    assert digest.attributes["kind"] == "digest"
    assert len(digest.machine["entries"]) == 30
    assert ledger.undelivered("codebuild") == []


def test_stops_failures_and_errors_go_at_once_before_the_digest():
    box, _, alerts = outbox(
        entry("quiet", Outcome.NOTIFIED),
        entry("stuck", Outcome.STOPPED),
        entry("broken", Outcome.FAILED),
        entry("held", Outcome.HELD),
    )
    box.drain("codebuild", NOW)
    messages = alerts.to(alerts.platform_topic)
    assert kinds(messages) == ["decision", "decision", "digest"]
    assert [m.entries[0].job_name for m in messages[:2]] == ["stuck", "broken"]
    assert sorted(e.job_name for e in messages[2].entries) == ["held", "quiet"]


def test_a_big_digest_is_split_below_the_sns_size_limit():
    box, _, alerts = outbox(*(entry(f"job{n}") for n in range(120)))
    box.drain("codebuild", NOW)
    digests = alerts.to(alerts.platform_topic)
    assert [len(d.entries) for d in digests] == [DIGEST_MAX_ENTRIES, DIGEST_MAX_ENTRIES, 20]
    long, _, alerts = outbox(*(entry(f"job{n}", reason="x" * 2000) for n in range(50)))
    long.drain("codebuild", NOW)
    digests = alerts.to(alerts.platform_topic)
    assert len(digests) > 1
    assert sum(len(d.entries) for d in digests) == 50
    assert max(d.size for d in digests) <= MAX_MESSAGE_BYTES


def test_each_owner_gets_its_own_digest_on_the_platform_topic():
    box, _, alerts = outbox(
        entry("a", owners=("data",)), entry("b", owners=("web",)), entry("c", owners=("data",))
    )
    box.drain("codebuild", NOW)
    digests = alerts.to(alerts.platform_topic)
    by_owner = {tuple(d.attributes["owner"]): [e.job_name for e in d.entries] for d in digests}
    assert by_owner == {("data",): ["a", "c"], ("web",): ["b"]}  # each entry once per topic


def test_a_policy_topic_gets_its_entries_as_well_as_the_platform_topic():
    box, ledger, alerts = outbox(
        entry("mine", Outcome.STOPPED, topics=(TEAM,)), entry("theirs", Outcome.STOPPED)
    )
    box.drain("codebuild", NOW)
    assert [m.entries[0].job_name for m in alerts.to(alerts.platform_topic)] == ["mine", "theirs"]
    assert [m.entries[0].job_name for m in alerts.to(TEAM)] == ["mine"]
    assert ledger.undelivered("codebuild") == []


def test_an_sns_outage_leaves_everything_for_the_next_sweep():
    box, ledger, alerts = outbox(entry("a"), entry("b", Outcome.STOPPED))
    alerts.failing = True
    assert box.drain("codebuild", NOW) == 2
    assert len(ledger.undelivered("codebuild")) == 2
    alerts.failing = False
    assert box.drain("codebuild", NOW + timedelta(minutes=5)) == 0
    assert sorted(e.job_name for e in alerts.sent) == ["a", "b"]
    assert ledger.undelivered("codebuild") == []


def test_a_routed_topic_down_keeps_its_entries_undelivered_until_it_is_back():
    box, ledger, alerts = outbox(entry("mine", Outcome.STOPPED, topics=(TEAM,)))
    alerts.failing = {TEAM}
    assert box.drain("codebuild", NOW) == 1
    assert len(alerts.to(alerts.platform_topic)) == 1
    alerts.failing = False
    assert box.drain("codebuild", NOW) == 0
    # at least once: the platform topic hears it again, with the same entry attribute
    first, second = alerts.to(alerts.platform_topic)
    assert first.attributes["entry"] == second.attributes["entry"]
    assert len(alerts.to(TEAM)) == 1
    assert ledger.undelivered("codebuild") == []


@pytest.mark.parametrize("code", ["NotFound", "AuthorizationError"])
def test_a_routed_topic_that_can_never_take_it_does_not_hold_the_alert(code):
    class Refusing(MemoryAlerts):
        def send(self, message, topic=""):
            if topic == TEAM:
                raise ClientError({"Error": {"Code": code, "Message": "no"}}, "Publish")
            super().send(message, topic)

    ledger, alerts = MemoryLedger(), Refusing()
    made = entry("mine", Outcome.STOPPED, topics=(TEAM,))
    ledger.record(made, "k")
    assert Outbox(ledger, alerts, CONTEXT).drain("codebuild", NOW) == 0
    assert ledger.undelivered("codebuild") == []


def test_topics_the_deployment_may_not_publish_to_are_skipped():
    box, ledger, alerts = outbox(entry("mine", Outcome.STOPPED, topics=(TEAM,)), allowed_topics=())
    assert box.drain("codebuild", NOW) == 0
    assert alerts.to(TEAM) == []
    assert ledger.undelivered("codebuild") == []


def test_a_digest_window_holds_quiet_entries_until_the_oldest_is_due():
    box, ledger, alerts = outbox(
        entry("quiet"), entry("stuck", Outcome.STOPPED), digest_window=timedelta(minutes=60)
    )
    assert box.drain("codebuild", NOW + timedelta(minutes=30)) == 0  # waiting is not failing
    assert kinds(alerts.to(alerts.platform_topic)) == ["decision"]
    assert [i.entry.job_name for i in ledger.undelivered("codebuild")] == ["quiet"]
    box.drain("codebuild", NOW + timedelta(minutes=60))
    assert kinds(alerts.to(alerts.platform_topic)) == ["decision", "digest"]
    assert ledger.undelivered("codebuild") == []
