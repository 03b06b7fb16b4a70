"""`jobwarden scan --service codebuild-batch` end to end: list, decide, record, stop, alert,
and retry the stopped batch on the next sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jobwarden.services.codebuild_batch  # noqa: F401 - importing registers the adapter
import pytest
import time_machine
from jobwarden.local.account import put_policy, put_settings
from jobwarden.local.codebuild_batch import (
    DEMO_POLICIES,
    CodeBuildBatchFill,
    describe_for_demo,
    seed_demo,
)

from tests.conftest import alert_bodies

SERVICE = "codebuild-batch"


@pytest.fixture
def batches(account):
    """The demo's scenario: a batch running 3 h against a 90 min limit, and a healthy one."""
    account.emulator.add(CodeBuildBatchFill)
    put_settings(account.clients, {"mode": "dry_run"})
    for name, document in DEMO_POLICIES.items():
        put_policy(account.clients, name, document)
    seeded = seed_demo(account.emulator, account.clients, datetime.now(UTC))
    stuck, healthy = seeded.values()
    return seeded, stuck, healthy


def scan(account, capsys, *extra: str) -> tuple[int, list[dict]]:
    return account.scan(capsys, "--service", SERVICE, *extra)  # type: ignore[no-any-return]


def entries(account) -> list[dict]:
    """The ledger's decision entries, without the pending retries kept beside them."""
    return [i for i in account.ledger_items() if not i["pk"].startswith("retry#")]


def pending_retries(account) -> list[str]:
    return [i["sk"] for i in account.ledger_items() if i["pk"].startswith("retry#")]


def status(account, batch_id: str) -> str:
    found = account.clients.client("codebuild").batch_get_build_batches(ids=[batch_id])
    return str(found["buildBatches"][0]["buildBatchStatus"])


def test_dry_run_records_and_alerts_but_leaves_it_running(account, capsys, batches):
    _, stuck, healthy = batches
    code, decisions = scan(account, capsys)  # the settings say dry_run
    assert code == 0
    verdicts = {d["job_id"]: (d["verdict"], d["outcome"]) for d in decisions}
    assert verdicts == {stuck: ("stop", "would_stop"), healthy: ("ok", "none")}
    assert status(account, stuck) == "IN_PROGRESS"
    (item,) = entries(account)
    assert (item["job_id"], item["outcome"], item["mode"]) == (stuck, "would_stop", "dry_run")
    (alert,) = alert_bodies(account.alerts())
    assert (alert["job_id"], alert["outcome"]) == (stuck, "would_stop")
    assert pending_retries(account) == []  # nothing was stopped, so nothing to retry


def test_enforce_stops_it_then_the_next_sweep_retries_it_once(account, capsys, batches):
    seeded, stuck, healthy = batches
    fill = account.emulator.fill("codebuild-batch")

    code, decisions = scan(account, capsys, "--enforce")
    assert code == 0
    (decision,) = [d for d in decisions if d["verdict"] == "stop"]
    assert (decision["job_id"], decision["outcome"]) == (stuck, "stopped")
    assert decision["reason"] == "running 176 min, over the 90 min limit of policy batch-builds"
    assert decision["cost_usd"] == pytest.approx(3 * 0.005 * 176, abs=0.01)  # 3 small builds
    assert status(account, stuck) == "STOPPED"
    assert status(account, healthy) == "IN_PROGRESS"
    (stopped,) = entries(account)
    assert (stopped["job_id"], stopped["outcome"], stopped["mode"]) == (
        stuck,
        "stopped",
        "enforce",
    )
    (alert,) = alert_bodies(account.alerts())
    assert (alert["job_id"], alert["outcome"]) == (stuck, "stopped")
    assert pending_retries(account) == [stuck]
    assert fill.retries == 0

    code, decisions = scan(account, capsys, "--enforce")
    assert code == 0
    assert fill.retries == 1
    assert status(account, stuck) == "IN_PROGRESS"  # the same batch, running again
    # Listed in the same sweep, timed from the retry: within its limits.
    judged = {d["job_id"]: d["verdict"] for d in decisions if d["verdict"] != "retry"}
    assert judged == {stuck: "ok", healthy: "ok"}
    (retried,) = [d for d in decisions if d["verdict"] == "retry"]  # scan shows the retry too
    assert (retried["job_id"], retried["outcome"], retried["attempt"]) == (stuck, "retried", 1)
    assert pending_retries(account) == []
    retry = next(i for i in entries(account) if i["verdict"] == "retry")
    assert (retry["job_id"], retry["outcome"], retry["attempt"]) == (stuck, "retried", 1)
    assert retry["reason"] == (
        "retry 1 of 1 (RETRY_FAILED_BUILDS) after a stop under policy batch-builds"
    )
    (alert,) = alert_bodies(account.alerts())
    assert (alert["job_id"], alert["verdict"], alert["outcome"]) == (stuck, "retry", "retried")
    # A retried batch starts over in SUBMITTED (the CLI's retry-build-batch example) and
    # reruns its builds once it is in progress again.
    assert describe_for_demo(account.clients, seeded) == {
        stuck: "IN_PROGRESS (SUBMITTED)",
        healthy: "IN_PROGRESS (IN_PROGRESS)",
    }
    fill.advance(stuck, "IN_PROGRESS")
    assert describe_for_demo(account.clients, seeded) == {
        stuck: "IN_PROGRESS (IN_PROGRESS), 3 build(s) rerun by a retry",
        healthy: "IN_PROGRESS (IN_PROGRESS)",
    }

    # A repeated sweep never retries twice.
    scan(account, capsys, "--enforce")
    assert fill.retries == 1
    assert len(entries(account)) == 2
    assert account.alerts() == []


def test_stuck_again_after_its_retry_it_is_stopped_and_not_retried_again(account, capsys, batches):
    _, stuck, healthy = batches
    fill = account.emulator.fill("codebuild-batch")
    scan(account, capsys, "--enforce")
    scan(account, capsys, "--enforce")
    assert fill.retries == 1
    fill.advance(stuck, "IN_PROGRESS")  # the retried batch runs its builds again
    account.alerts()
    fill.finish(healthy)

    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2)):
        _, decisions = scan(account, capsys, "--enforce")
        (decision,) = decisions
        assert (decision["job_id"], decision["outcome"]) == (stuck, "stopped")
        assert decision["reason"].startswith("running 120 min")  # since the retry
        scan(account, capsys, "--enforce")
    assert fill.retries == 1
    assert status(account, stuck) == "STOPPED"
    outcomes = [(a["verdict"], a["outcome"]) for a in alert_bodies(account.alerts())]
    assert outcomes == [("stop", "stopped"), ("retry", "retries_exhausted")]
