from __future__ import annotations

import json

import pytest
from jobwarden.model import Action, Mode, Retry
from jobwarden.policies import InvalidDocument, build_configuration, parse_policy, parse_settings

SERVICES = ("codebuild", "glue")

GOOD = {
    "description": "nightly builds finish within the hour",
    "match": {"services": ["codebuild"], "names": ["nightly-*"], "tags": {"team": "data"}},
    "limits": {"max_run_minutes": 60, "max_queue_minutes": 30, "max_cost_usd": 5},
    "action": "stop",
    "priority": 10,
}


def test_a_full_policy_parses():
    policy = parse_policy("nightly-builds", json.dumps(GOOD), SERVICES)
    assert policy.name == "nightly-builds"
    assert policy.services == ("codebuild",)
    assert policy.names == ("nightly-*",)
    assert policy.tags == {"team": "data"}
    assert (policy.max_run_minutes, policy.max_queue_minutes, policy.max_cost_usd) == (60, 30, 5)
    assert policy.action is Action.STOP
    assert policy.priority == 10


def test_defaults_cover_every_job_and_stop():
    policy = parse_policy("minimal", '{"limits": {"max_run_minutes": 60}}', SERVICES)
    assert policy.services == ()
    assert policy.names == ("*",)
    assert policy.action is Action.STOP
    assert policy.max_queue_minutes is None


def test_retry_is_parsed():
    policy = parse_policy(
        "retrying",
        {
            "match": {"services": ["codebuild-batch"]},
            "limits": {"max_run_minutes": 60},
            "retry": {"type": "RETRY_FAILED_BUILDS", "max_attempts": 2},
        },
        ("codebuild-batch",),
    )
    assert policy.retry == Retry("RETRY_FAILED_BUILDS", 2)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (
            {"limits": {"max_run_minutes": -5}},
            "limits.max_run_minutes: must be greater than 0, got -5",
        ),
        (
            {"limits": {"max_run_minutes": "60"}},
            "limits.max_run_minutes: must be a number, got '60'",
        ),
        ({"limits": {"max_runtime": 60}}, "limits.max_runtime: unknown field"),
        ({"action": "kill"}, "action: must be one of stop, notify, got 'kill'"),
        ({"match": {"services": ["ec2"]}}, "match.services: unknown 'ec2'"),
        ({"match": {"names": "nightly-*"}}, "match.names: must be a list of non-empty strings"),
        ({"match": {"tags": {"team": 1}}}, "match.tags: must be an object of string values"),
        ({"priority": -1}, "priority: must be a whole number from 0 to 1000000, got -1"),
        (
            {"match": {"services": ["codebuild"]}, "retry": {"type": "AGAIN"}},
            "retry.type: 'AGAIN' cannot retry codebuild jobs",
        ),
        ({"match": []}, "match: must be an object"),
    ],
)
def test_field_level_messages(document, message):
    with pytest.raises(InvalidDocument) as caught:
        parse_policy("broken", document, SERVICES)
    assert any(message in m for m in caught.value.messages), caught.value.messages


def test_every_bad_field_is_reported_at_once():
    document = {"limits": {"max_run_minutes": 0, "max_cost_usd": "x"}, "action": "kill"}
    with pytest.raises(InvalidDocument) as caught:
        parse_policy("broken", document, SERVICES)
    assert len(caught.value.messages) == 3


def test_settings_defaults_are_safe():
    settings = parse_settings("{}")
    assert settings.mode is Mode.DRY_RUN
    assert settings.kill_switch is False
    assert settings.max_stops_per_window == 10


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"mode": "yolo"}, "mode: must be one of dry_run, enforce"),
        ({"kill_switch": "yes"}, "kill_switch: must be true or false"),
        ({"max_stops_per_sweep": 1.5}, "max_stops_per_sweep: must be a whole number"),
        ({"prices": {"x": 1}}, "prices.x: unknown price key"),
        ({"prices": {"glue:dpu": -1}}, "prices.glue:dpu: must be greater than 0, got -1"),
        ({"regions": "us-east-1"}, "regions: must be a list of non-empty strings"),
    ],
)
def test_settings_messages(document, message):
    with pytest.raises(InvalidDocument) as caught:
        parse_settings(document)
    assert any(message in m for m in caught.value.messages)


def test_broken_documents_are_skipped_and_the_rest_apply():
    configuration = build_configuration(
        json.dumps({"mode": "enforce"}),
        {"good": json.dumps(GOOD), "bad": '{"limits": {"max_run_minutes": -1}}'},
        SERVICES,
    )
    assert [p.name for p in configuration.policies] == ["good"]
    assert [p.name for p in configuration.problems] == ["bad"]
    assert configuration.settings.mode is Mode.ENFORCE


def test_broken_settings_turn_the_kill_switch_on():
    configuration = build_configuration('{"mode": "enforce", "kill_switch": "no"}', {}, SERVICES)
    assert configuration.settings.kill_switch is True
    assert configuration.problems[0].name == "/jobwarden/settings"


def test_fingerprint_follows_the_document():
    first = build_configuration(None, {"bad": "{"}, SERVICES).problems[0]
    same = build_configuration(None, {"bad": "{"}, SERVICES).problems[0]
    edited = build_configuration(None, {"bad": "{{"}, SERVICES).problems[0]
    assert first.fingerprint == same.fingerprint != edited.fingerprint
