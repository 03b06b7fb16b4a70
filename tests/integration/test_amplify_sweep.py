"""`jobwarden scan --service amplify` end to end: list, decide, record, stop, alert, retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jobwarden.services.amplify  # noqa: F401 - registers the adapter
import pytest
import time_machine
from botocore.exceptions import ClientError
from jobwarden.local.account import put_policy, put_settings
from jobwarden.local.amplify import AmplifyFill, create_app, start_job

from tests.conftest import alert_bodies
from tests.integration.test_cli import scan

MINUTE = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def amplify(account) -> AmplifyFill:
    fill: AmplifyFill = account.emulator.add(AmplifyFill)
    return fill


def status(account, qualified: str) -> dict:
    app_id, branch, number = qualified.split("/")
    job = account.clients.client("amplify").get_job(appId=app_id, branchName=branch, jobId=number)[
        "job"
    ]
    return job["summary"]


@pytest.fixture
def jobs(account) -> dict[str, str]:
    """A job stuck provisioning for 45 minutes, and a healthy one building for 8."""
    put_settings(account.clients, {"mode": "dry_run"})
    put_policy(
        account.clients,
        "amplify-builds",
        {"match": {"services": ["amplify"]}, "limits": {"max_queue_minutes": 20}},
    )
    now = datetime.now(UTC)
    storefront = create_app(account.clients, "storefront", {"team": "web"})
    docs = create_app(account.clients, "docs-portal")
    stuck = (MINUTE, "PROVISIONING")
    healthy = (MINUTE, "PROVISIONING"), (2 * MINUTE, "RUNNING")
    return {
        "stuck": start_job(
            account.emulator, account.clients, storefront, "main", now - 45 * MINUTE, stuck
        ),
        "healthy": start_job(
            account.emulator, account.clients, docs, "main", now - 10 * MINUTE, *healthy
        ),
    }


def test_dry_run_records_and_alerts_but_leaves_the_job(account, capsys, jobs):
    code, decisions = scan(account, capsys, "--service", "amplify")

    assert code == 0
    by_job = {d["job_id"]: d for d in decisions}
    assert set(by_job) == {jobs["stuck"], jobs["healthy"]}
    stuck = by_job[jobs["stuck"]]
    assert (stuck["verdict"], stuck["outcome"], stuck["mode"]) == ("stop", "would_stop", "dry_run")
    assert stuck["reason"] == (
        "queued 45 min, over the 20 min queue limit of policy amplify-builds"
    )
    assert stuck["status"] == "PROVISIONING"
    assert by_job[jobs["healthy"]]["verdict"] == "ok"
    assert status(account, jobs["stuck"])["status"] == "PROVISIONING"
    (item,) = account.ledger_items()
    assert (item["job_id"], item["outcome"], item["job_name"]) == (
        jobs["stuck"],
        "would_stop",
        "storefront/main",
    )
    (alert,) = account.alerts()
    assert alert["MessageAttributes"]["service"]["Value"] == "amplify"
    assert alert_bodies([alert])[0]["outcome"] == "would_stop"


def test_enforce_stops_the_stuck_job_records_and_alerts(account, capsys, jobs):
    code, decisions = scan(account, capsys, "--service", "amplify", "--enforce")

    assert code == 0
    (stopped,) = [d for d in decisions if d["verdict"] == "stop"]
    assert (stopped["job_id"], stopped["outcome"]) == (jobs["stuck"], "stopped")
    assert status(account, jobs["stuck"])["status"] == "CANCELLING"
    assert status(account, jobs["healthy"])["status"] == "RUNNING"
    (item,) = account.ledger_items()
    assert (item["job_id"], item["outcome"], item["mode"]) == (jobs["stuck"], "stopped", "enforce")
    (alert,) = alert_bodies(account.alerts())
    assert (alert["job_id"], alert["outcome"]) == (jobs["stuck"], "stopped")

    code, decisions = scan(account, capsys, "--service", "amplify", "--enforce")
    assert code == 0
    assert [d["verdict"] for d in decisions] == ["ok"]  # CANCELLING is not active: left alone
    assert len(account.ledger_items()) == 1


def test_a_stopped_job_is_retried_once_its_stop_ends_and_the_cap_spans_the_chain(
    account, capsys, amplify
):
    """Retries create new job ids; the cap counts attempts per commit across all of them."""
    put_policy(
        account.clients,
        "flaky-builds",
        {
            "match": {"services": ["amplify"]},
            "limits": {"max_run_minutes": 30},
            "retry": {"type": "RETRY", "max_attempts": 1},
        },
    )
    app = create_app(account.clients, "storefront")
    now = datetime.now(UTC)
    first = start_job(
        account.emulator, account.clients, app, "main", now - 50 * MINUTE, (MINUTE, "RUNNING")
    )
    enforce = ("--service", "amplify", "--enforce")

    scan(account, capsys, *enforce)  # stops it
    assert status(account, first)["status"] == "CANCELLING"
    scan(account, capsys, *enforce)  # still cancelling: no retry yet
    with pytest.raises(ClientError, match="NotFoundException"):
        status(account, f"{app}/main/2")
    assert not [i for i in account.ledger_items() if i.get("verdict") == "retry"]
    amplify.set_status(app, "main", first.split("/")[-1], "CANCELLED")

    code, _ = scan(account, capsys, *enforce)
    assert code == 0
    (retry,) = [i for i in account.ledger_items() if i.get("verdict") == "retry"]
    assert (retry["job_id"], retry["outcome"], retry["attempt"]) == (first, "retried", 1)
    second = f"{app}/main/2"
    summary = status(account, second)
    assert (summary["jobType"], summary["status"]) == ("RETRY", "PENDING")
    assert summary["commitId"] == status(account, first)["commitId"]

    with time_machine.travel(now + 45 * MINUTE, tick=False):
        amplify.set_status(app, "main", "2", "RUNNING")
    with time_machine.travel(now + 90 * MINUTE, tick=False):
        scan(account, capsys, *enforce)  # the retry is stuck too: stopped again
        assert status(account, second)["status"] == "CANCELLING"
        amplify.set_status(app, "main", "2", "CANCELLED")
        scan(account, capsys, *enforce)  # one attempt per commit: no second retry

    retries = sorted(
        (i["outcome"], i["job_id"]) for i in account.ledger_items() if i.get("verdict") == "retry"
    )
    assert retries == [("retried", first), ("retries_exhausted", second)]
    with pytest.raises(ClientError, match="NotFoundException"):
        status(account, f"{app}/main/3")
