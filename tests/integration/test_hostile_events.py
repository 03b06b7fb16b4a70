"""The events function under malformed input: counted, logged with the id, never raised,
and nothing written to the index or the scheduler (issue 10's examples, then properties)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jobwarden.handlers import events
from jobwarden.local.account import put_policy

from tests.integration.conftest import LambdaContext

NOW = datetime.now(UTC).replace(microsecond=0)
STAMP = (NOW - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(source: str, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": STAMP,
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


GOOD = {
    "codebuild": envelope(
        "aws.codebuild",
        "CodeBuild Build State Change",
        {
            "build-status": "IN_PROGRESS",
            "project-name": "web-app",
            "build-id": "arn:aws:codebuild:us-east-1:123456789012:build/web-app:1",
            "additional-information": {"build-start-time": "Sep 1, 2025 4:12:29 PM"},
        },
    ),
    "glue": envelope(
        "aws.glue",
        "Glue Job Run Status",
        {"jobName": "etl", "state": "RUNNING", "jobRunId": "jr_1", "startedOn": STAMP},
    ),
    "batch": envelope(
        "aws.batch",
        "Batch Job State Change",
        {"jobId": "j-1", "jobName": "train", "status": "RUNNABLE", "createdAt": 1_700_000_000_000},
    ),
    "amplify": envelope(
        "aws.amplify",
        "Amplify Deployment Status Change",
        {"appId": "d1", "branchName": "main", "jobId": "7", "jobStatus": "STARTED"},
    ),
}


def index_items(account) -> list[dict[str, Any]]:
    table = account.clients.dynamodb_table(account.resources.table)
    return [i for i in table.scan()["Items"] if i["pk"].startswith("active#")]


def schedule_names(account) -> list[str]:
    scheduler = account.clients.client("scheduler")
    found = scheduler.list_schedules(GroupName="jobwarden-deadlines")["Schedules"]
    return [s["Name"] for s in found]


def handle(event: Any) -> dict[str, Any]:
    return events.handler(event, LambdaContext())  # type: ignore[no-any-return]


def metric_names(out: str) -> set[str]:
    rows = [json.loads(line) for line in out.splitlines() if '"_aws"' in line]
    return {m["Name"] for row in rows for m in row["_aws"]["CloudWatchMetrics"][0]["Metrics"]}


def with_detail(service: str, **changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(GOOD[service])
    event["detail"].update(changes)
    return event


def assert_malformed_and_untouched(account, event: Any) -> dict[str, Any]:
    reaction = handle(event)
    assert reaction["kind"] == "malformed", reaction
    assert index_items(account) == []
    assert schedule_names(account) == []
    return reaction


@pytest.mark.parametrize("service", sorted(GOOD))
def test_each_well_formed_sample_enters_the_index(events_function, service):
    assert handle(GOOD[service])["kind"] == "entered"


def test_a_non_string_project_name_is_malformed_and_writes_nothing(events_function):
    reaction = assert_malformed_and_untouched(
        events_function, with_detail("codebuild", **{"project-name": 42})
    )
    assert "project-name" in reaction["why"]


def test_a_time_without_a_zone_is_malformed(events_function):
    event = copy.deepcopy(GOOD["codebuild"])
    event["time"] = NOW.replace(tzinfo=None).isoformat()
    reaction = assert_malformed_and_untouched(events_function, event)
    assert "has no time zone" in reaction["why"]


def test_a_glue_start_without_a_zone_is_malformed(events_function):
    event = with_detail("glue", startedOn="2026-01-01T00:00:00")
    assert_malformed_and_untouched(events_function, event)


def test_an_empty_job_id_is_malformed(events_function):
    assert_malformed_and_untouched(
        events_function,
        with_detail("codebuild", **{"build-id": "arn:aws:codebuild:us-east-1:1:build/"}),
    )
    assert_malformed_and_untouched(events_function, with_detail("glue", jobRunId=""))


def test_a_null_region_is_malformed(events_function):
    event = copy.deepcopy(GOOD["batch"])
    event["region"] = None
    assert_malformed_and_untouched(events_function, event)


def test_a_region_botocore_does_not_know_is_malformed(events_function):
    event = copy.deepcopy(GOOD["amplify"])
    event["region"] = "us east 2"
    assert_malformed_and_untouched(events_function, event)


def test_a_batch_time_that_is_not_epoch_millis_is_malformed(events_function):
    assert_malformed_and_untouched(events_function, with_detail("batch", createdAt="yesterday"))
    assert_malformed_and_untouched(events_function, with_detail("batch", createdAt=10**30))


def test_an_event_from_the_far_future_is_malformed(events_function):
    event = copy.deepcopy(GOOD["glue"])
    event["time"] = "2190-01-01T00:00:00Z"
    assert "ahead of our clock" in assert_malformed_and_untouched(events_function, event)["why"]


@pytest.mark.parametrize("payload", ["not even an object", [], {}, {"source": 1}, None, 7])
def test_a_payload_that_is_not_an_event_is_counted_malformed(events_function, capsys, payload):
    assert_malformed_and_untouched(events_function, payload)
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert metric_names(json.dumps(row)) == {"EventsMalformed"}
    # Alarmed: one series, no dimension.
    assert row["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[]]
    assert "service" not in row


def test_a_well_formed_event_of_another_kind_is_ignored(events_function, capsys, monkeypatch):
    event = envelope("aws.ec2", "EC2 Instance State-change Notification", {})
    assert handle(event)["kind"] == "ignored"
    # EventsIgnored is for the dashboard: not sent without it, per service with it.
    assert metric_names(capsys.readouterr().out) == set()
    monkeypatch.setenv("JOBWARDEN_DASHBOARD", "true")
    assert handle(event)["kind"] == "ignored"
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert row["service"] == "unknown"
    assert row["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert metric_names(json.dumps(row)) == {"EventsIgnored"}


def test_a_malformed_event_is_logged_with_its_id(events_function, caplog):
    handle(with_detail("amplify", jobId=None))
    (warning,) = [r for r in caplog.records if r.levelname == "WARNING"]
    assert warning.event["id"] == GOOD["amplify"]["id"]  # type: ignore[attr-defined]
    assert "jobId" in warning.getMessage()


def test_an_absurd_limit_in_ssm_does_not_crash_the_events_function(events_function):
    put_policy(events_function.clients, "huge", '{"limits": {"max_run_minutes": 1e300}}')
    put_policy(events_function.clients, "digits", '{"priority": 1%s}' % ("0" * 400))
    put_policy(events_function.clients, "inf", '{"limits": {"max_run_minutes": Infinity}}')
    reaction = handle(GOOD["codebuild"])
    assert reaction["kind"] == "entered"
    assert len(schedule_names(events_function)) == 1  # from the valid one-hour policy


def test_its_own_failures_still_raise(events_function):
    table = events_function.clients.dynamodb_table(events_function.resources.table)
    table.delete()
    with pytest.raises(Exception, match="ResourceNotFound"):
        handle(GOOD["codebuild"])


HOSTILE_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["", " ", "2026-01-01T00:00:00", "9999-12-31T23:59:59+14:00", "Z"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@st.composite
def hostile_events(draw: st.DrawFn) -> Any:
    """A subscribed event with one field replaced or removed, at the top or in its detail."""
    event = copy.deepcopy(GOOD[draw(st.sampled_from(sorted(GOOD)))])
    target = event if draw(st.booleans()) else event["detail"]
    key = draw(st.sampled_from(sorted(target)))
    if key in ("source", "detail-type"):
        key = "time"
    if draw(st.booleans()):
        del target[key]
    else:
        target[key] = draw(HOSTILE_VALUES)
    return event


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(event=hostile_events())
def test_hostile_events_never_raise_and_malformed_ones_touch_nothing(events_function, event):
    before = (index_items(events_function), schedule_names(events_function))
    reaction = handle(event)
    assert reaction["kind"] in {"entered", "updated", "left", "ignored", "malformed"}
    if reaction["kind"] in {"malformed", "ignored"}:
        assert (index_items(events_function), schedule_names(events_function)) == before
