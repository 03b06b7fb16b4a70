"""The waste fields of a policy document: cancel_superseded, max_queue_minutes_by_reason and
resubmit, validated like every other field (one message per bad field)."""

from __future__ import annotations

import pytest
from jobwarden.model import Resubmit
from jobwarden.policies import InvalidDocument, parse_policy
from jobwarden.services import REGISTRY

KNOWN = tuple(sorted(REGISTRY))


def messages_of(document: dict) -> list[str]:
    with pytest.raises(InvalidDocument) as caught:
        parse_policy("p", document, KNOWN)
    return caught.value.messages


def test_the_issue_example_reads_with_a_zero_limit_for_hopeless_reasons():
    policy = parse_policy(
        "batch",
        {
            "match": {"services": ["batch"]},
            "limits": {"max_queue_minutes_by_reason": {"MISCONFIGURATION:*": 0, "CAPACITY:*": 240}},
            "resubmit": {"job_queue": "fallback"},
        },
        KNOWN,
    )
    assert policy.max_queue_minutes_by_reason == (
        ("MISCONFIGURATION:*", 0.0),
        ("CAPACITY:*", 240.0),
    )
    assert policy.resubmit == Resubmit("fallback", ("CAPACITY:*",))


def test_cancel_superseded_alone_is_a_policy():
    policy = parse_policy(
        "ci", {"match": {"services": ["codebuild"]}, "cancel_superseded": True}, KNOWN
    )
    assert policy.cancel_superseded


def test_without_limits_or_cancel_superseded_a_policy_is_still_refused():
    (message,) = messages_of({"cancel_superseded": False})
    assert message.startswith("limits: set at least one of")


def test_cancel_superseded_refuses_services_without_branches():
    (message,) = messages_of(
        {"match": {"services": ["codebuild", "glue"]}, "cancel_superseded": True}
    )
    assert message.startswith("cancel_superseded: glue jobs have no branch")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (-1, "limits.max_queue_minutes_by_reason.CAPACITY:*: must be from 0 (stop at once) to"),
        ("4h", "limits.max_queue_minutes_by_reason.CAPACITY:*: must be a number of minutes"),
        (True, "limits.max_queue_minutes_by_reason.CAPACITY:*: must be a number of minutes"),
    ],
)
def test_a_bad_reason_limit_gets_one_message(value, expected):
    (message,) = messages_of(
        {
            "match": {"services": ["batch"]},
            "limits": {"max_queue_minutes_by_reason": {"CAPACITY:*": value}},
        }
    )
    assert message.startswith(expected)


def test_a_reason_limit_is_bounded_by_the_services_queue_limit():
    (message,) = messages_of(
        {
            "match": {"services": ["codebuild"]},
            "limits": {"max_queue_minutes_by_reason": {"QUEUED": 481}},
        }
    )
    assert message == (
        "limits.max_queue_minutes_by_reason.QUEUED: must be from 0 (stop at once) to 480, got 481"
    )


def test_resubmit_is_for_batch_only_and_needs_a_queue_limit():
    (other,) = messages_of(
        {
            "match": {"services": ["codebuild"]},
            "limits": {"max_queue_minutes": 30},
            "resubmit": {"job_queue": "fallback"},
        }
    )
    assert other.startswith("resubmit: only batch jobs can be resubmitted")
    (no_limit,) = messages_of(
        {
            "match": {"services": ["batch"]},
            "limits": {"max_run_minutes": 30},
            "resubmit": {"job_queue": "fallback"},
        }
    )
    assert no_limit.startswith("resubmit: a resubmission follows a queue limit")


def test_resubmit_needs_a_queue_name():
    messages = messages_of(
        {
            "match": {"services": ["batch"]},
            "limits": {"max_queue_minutes": 30},
            "resubmit": {"on_reasons": ["CAPACITY:*"], "job_queue": "two words"},
        }
    )
    assert messages == ["resubmit.job_queue: must be a job queue name or ARN, got 'two words'"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, "limits.max_queue_minutes_by_reason: must be an object, got 5"),
        ({}, "limits.max_queue_minutes_by_reason: name at least one reason"),
    ],
)
def test_reason_limits_must_name_reasons(value, expected):
    (message,) = messages_of(
        {"match": {"services": ["batch"]}, "limits": {"max_queue_minutes_by_reason": value}}
    )
    assert message.startswith(expected)
