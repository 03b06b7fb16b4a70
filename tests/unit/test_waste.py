"""Superseded runs, reason-aware queue limits and resubmission, judged by the pure engine."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from jobwarden.engine import decide, next_deadline
from jobwarden.model import Action, Mode, Resubmit, Settings, Verdict
from jobwarden.services.codebuild import source_branch
from jobwarden.waste import INTERRUPTIBLE_TAG, newer_runs, queue_limit

from tests.conftest import NOW
from tests.unit.factories import job, policy

SUPERSEDE = policy("ci", cancel_superseded=True, max_run_minutes=600)
ENFORCE = Settings(mode=Mode.ENFORCE)


def run(job_id: str, minutes_ago: float, branch: str = "branch/main", **fields):
    """A build of web-app on `branch`, submitted `minutes_ago`."""
    built = job(name="web-app", job_id=job_id, queued_minutes=1, run_minutes=minutes_ago - 1)
    return replace(built, branch=branch, **fields)


def test_the_newest_run_of_a_branch_supersedes_the_older_ones_and_only_them():
    old, older, newest = run("b2", 30), run("b1", 50), run("b3", 5)
    other_branch = run("f1", 60, branch="branch/feature")
    other_project = replace(run("x1", 70), name="api")
    no_branch = run("c1", 80, branch="")

    newer = newer_runs([old, older, newest, other_branch, other_project, no_branch])

    assert newer == {old.key: newest, older.key: newest}


def test_a_retried_attempt_supersedes_nothing_but_can_be_superseded():
    retried = run("b1", 3, attempt="2")  # an old batch build retried a moment ago
    newer = run("b2", 20, attempt="1")
    newest = run("b3", 1, attempt="1")

    assert newer_runs([retried, newer]) == {}
    assert newer_runs([retried, newer, newest]) == {retried.key: newest, newer.key: newest}


def test_runs_submitted_at_the_same_instant_do_not_supersede_each_other():
    assert newer_runs([run("a", 10), run("b", 10)]) == {}


def test_a_superseded_run_is_stopped_naming_the_newer_run():
    older, newer = run("web-app:1", 30), run("web-app:2", 5)

    decision = decide(older, [SUPERSEDE], ENFORCE, NOW, newer)

    assert decision.verdict is Verdict.SUPERSEDED
    assert decision.calls_stop
    assert decision.superseded_by == newer
    assert decision.reason == (
        "superseded by the newer run web-app:2 (IN_PROGRESS) of branch/main of policy ci"
    )


def test_without_the_policy_option_a_newer_run_changes_nothing():
    older, newer = run("web-app:1", 30), run("web-app:2", 5)
    plain = replace(SUPERSEDE, cancel_superseded=False)

    assert decide(older, [plain], ENFORCE, NOW, newer).verdict is Verdict.OK


def test_a_newer_run_of_another_branch_never_supersedes():
    older, newer = run("web-app:1", 30), run("web-app:2", 5, branch="pr/7")

    assert decide(older, [SUPERSEDE], ENFORCE, NOW, newer).verdict is Verdict.OK


@pytest.mark.parametrize("value", ["false", "No", "0", "off"])
def test_the_interruptible_tag_opts_a_run_out(value):
    older = run("web-app:1", 30, tags={INTERRUPTIBLE_TAG: value})

    assert decide(older, [SUPERSEDE], ENFORCE, NOW, run("web-app:2", 5)).verdict is Verdict.OK


def test_the_exemption_tag_and_the_kill_switch_apply_to_superseded_runs():
    newer = run("web-app:2", 5)
    exempt = run("web-app:1", 30, tags={"jobwarden:exempt": "true"})
    assert decide(exempt, [SUPERSEDE], ENFORCE, NOW, newer).verdict is Verdict.EXEMPT

    held = decide(run("web-app:1", 30), [SUPERSEDE], replace(ENFORCE, kill_switch=True), NOW, newer)
    assert held.verdict is Verdict.HELD
    assert held.reason.endswith("; not stopped: the kill switch is on")


def test_a_superseded_run_under_a_notify_policy_is_only_notified():
    notify = replace(SUPERSEDE, action=Action.NOTIFY)

    decision = decide(run("web-app:1", 30), [notify], ENFORCE, NOW, run("web-app:2", 5))

    assert decision.verdict is Verdict.NOTIFY
    assert not decision.calls_stop


def test_in_dry_run_a_superseded_run_calls_nothing():
    decision = decide(run("web-app:1", 30), [SUPERSEDE], Settings(), NOW, run("web-app:2", 5))

    assert decision.verdict is Verdict.SUPERSEDED
    assert not decision.calls_stop


def test_a_limit_breach_is_the_stop_reason_even_when_superseded():
    over = replace(SUPERSEDE, max_run_minutes=20)

    decision = decide(run("web-app:1", 30), [over], ENFORCE, NOW, run("web-app:2", 5))

    assert decision.verdict is Verdict.STOP
    assert "running 29 min, over the 20 min limit" in decision.reason


REASONS = policy(
    "batch-reasons",
    services=("batch",),
    max_queue_minutes=600,
    max_queue_minutes_by_reason=(("MISCONFIGURATION:*", 0.0), ("CAPACITY:*", 240.0)),
)


def waiting(reason: str, minutes: float, **details):
    queued = job(name="align", service="batch", queued_minutes=minutes, run_minutes=None)
    return replace(queued, queue_reason=reason, details={"jobQueue": "q/main", **details})


def test_a_hopeless_reason_is_stopped_at_once():
    decision = decide(
        waiting("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT", 1), [REASONS], ENFORCE, NOW
    )

    assert decision.verdict is Verdict.STOP
    assert decision.reason == (
        "queued 1 min waiting for MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT, a reason stopped "
        "at once (MISCONFIGURATION:*: 0 min) of policy batch-reasons"
    )


def test_a_capacity_wait_within_its_limit_is_left_alone_and_stopped_past_it():
    capacity = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"
    assert decide(waiting(capacity, 200), [REASONS], ENFORCE, NOW).verdict is Verdict.OK

    late = decide(waiting(capacity, 250), [REASONS], ENFORCE, NOW)
    assert late.verdict is Verdict.STOP
    assert late.reason == (
        "queued 250 min waiting for CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY, over the 240 min "
        "queue limit for CAPACITY:* of policy batch-reasons"
    )


def test_a_reason_no_glob_matches_falls_back_to_the_plain_queue_limit():
    assert queue_limit(waiting("PENDING", 10), REASONS) == (600.0, "")
    assert decide(waiting("PENDING", 500), [REASONS], ENFORCE, NOW).verdict is Verdict.OK
    assert decide(waiting("PENDING", 700), [REASONS], ENFORCE, NOW).verdict is Verdict.STOP


def test_the_most_specific_glob_wins():
    both = replace(
        REASONS,
        max_queue_minutes_by_reason=(("CAPACITY:*", 240.0), ("CAPACITY:SPOT_*", 30.0)),
    )
    assert queue_limit(waiting("CAPACITY:SPOT_CAPACITY", 1), both) == (30.0, "CAPACITY:SPOT_*")
    assert queue_limit(waiting("CAPACITY:OTHER", 1), both) == (240.0, "CAPACITY:*")


def test_a_reason_limit_schedules_the_deadline():
    queued = waiting("CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY", 10)

    assert next_deadline(queued, REASONS, {}) == queued.submitted_at + timedelta(minutes=240)


def test_a_job_whose_reason_is_unknown_gets_the_earliest_deadline_any_reason_could_set():
    """An event carries no statusReason: the deadline check comes at once and judges it."""
    from_event = waiting("", 10)

    assert next_deadline(from_event, REASONS, {}) == from_event.submitted_at


RESUBMITTING = replace(REASONS, resubmit=Resubmit("fallback"))


def test_a_capacity_wait_past_its_limit_is_resubmitted_to_the_fallback_queue():
    stuck = waiting("CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY", 250, resubmittable=True)

    decision = decide(stuck, [RESUBMITTING], ENFORCE, NOW)

    assert decision.verdict is Verdict.RESUBMIT
    assert decision.calls_stop
    assert decision.fallback_queue == "fallback"
    assert decision.reason.endswith("of policy batch-reasons; resubmitted to job queue fallback")


@pytest.mark.parametrize(
    ("reason", "details"),
    [
        ("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT", {"resubmittable": True}),  # not capacity
        ("CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY", {}),  # an array or multi-node job
        (
            "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",  # stuck in the fallback queue itself
            {"resubmittable": True, "jobQueue": "arn:aws:batch:us-east-1:1:job-queue/fallback"},
        ),
    ],
)
def test_other_stuck_jobs_are_stopped_not_resubmitted(reason, details):
    decision = decide(waiting(reason, 250, **details), [RESUBMITTING], ENFORCE, NOW)

    assert decision.verdict is Verdict.STOP
    assert decision.fallback_queue == ""


@pytest.mark.parametrize(
    ("source_type", "version", "branch"),
    [
        ("GITHUB", "pr/25", "pr/25"),
        ("GITHUB", "refs/pull/7/head^{4b2f0d6c1e8a9f3b5d7c2e1a0f9b8c7d6e5f4a3b}", "pr/7"),
        ("GITHUB", "refs/heads/main^{4b2f0d6c1e8a9f3b5d7c2e1a0f9b8c7d6e5f4a3b}", "branch/main"),
        ("BITBUCKET", "refs/heads/feature/login", "branch/feature/login"),
        ("CODECOMMIT", "main", "branch/main"),
        ("GITHUB", "refs/tags/v1.0", "tag/v1.0"),
        ("GITHUB", "4b2f0d6c1e8a9f3b5d7c2e1a0f9b8c7d6e5f4a3b", ""),  # a commit: no branch
        ("GITHUB", "", ""),
        ("S3", "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY", ""),  # an object version id
        ("CODEPIPELINE", "arn:aws:s3:::codepipeline-us-west-2-1/x/SourceArti/1.zip", ""),
    ],
)
def test_source_branch_reads_what_codebuild_reports(source_type, version, branch):
    build = {"source": {"type": source_type}, "sourceVersion": version}

    assert source_branch(build) == branch


def test_a_resubmit_request_copies_the_job_but_not_what_batch_sets_itself():
    from jobwarden.services.batch import RESUBMIT_OF_TAG, resubmit_request

    detail = {
        "jobId": "j-1",
        "jobName": "align",
        "jobDefinition": "arn:aws:batch:us-east-1:1:job-definition/align:3",
        "parameters": {"sample": "chr7"},
        "timeout": {"attemptDurationSeconds": 600},
        "schedulingPriority": 5,
        "tags": {"team": "data"},
        "container": {
            "image": "ignored: it comes with the definition",
            "vcpus": 2,
            "memory": 4096,
            "command": ["align"],
            "environment": [
                {"name": "AWS_BATCH_JOB_ID", "value": "j-1"},
                {"name": "STAGE", "value": "prod"},
            ],
        },
    }

    assert resubmit_request(detail, "fallback") == {
        "jobName": "align",
        "jobQueue": "fallback",
        "jobDefinition": "arn:aws:batch:us-east-1:1:job-definition/align:3",
        "parameters": {"sample": "chr7"},
        "containerOverrides": {
            "command": ["align"],
            "vcpus": 2,
            "memory": 4096,
            "environment": [{"name": "STAGE", "value": "prod"}],
        },
        "timeout": {"attemptDurationSeconds": 600},
        "schedulingPriorityOverride": 5,
        "tags": {"team": "data", RESUBMIT_OF_TAG: "j-1"},
    }
