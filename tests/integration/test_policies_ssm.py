from __future__ import annotations

import json

from jobwarden.local.account import put_policy, put_settings
from jobwarden.model import Mode
from jobwarden.policies import ParameterStore
from jobwarden.services import REGISTRY


def store(account, max_age: int = 300) -> ParameterStore:
    return ParameterStore(account.clients.client("ssm"), max_age=max_age)


def test_loads_every_document_under_the_path_recursively(account):
    put_settings(account.clients, {"mode": "enforce", "max_stops_per_window": 3})
    put_policy(account.clients, "nightly-builds", {"limits": {"max_run_minutes": 60}})
    put_policy(account.clients, "team-a/long-builds", {"limits": {"max_run_minutes": 600}})
    configuration = store(account).load(REGISTRY)
    assert sorted(p.name for p in configuration.policies) == [
        "nightly-builds",
        "team-a/long-builds",
    ]
    assert configuration.settings.mode is Mode.ENFORCE
    assert configuration.settings.max_stops_per_window == 3
    assert configuration.problems == ()


def test_missing_settings_mean_safe_defaults(account):
    configuration = store(account).load(REGISTRY)
    assert configuration.settings.mode is Mode.DRY_RUN
    assert configuration.policies == ()


def test_a_broken_document_is_skipped(account):
    put_policy(account.clients, "good", {"limits": {"max_run_minutes": 60}})
    put_policy(account.clients, "bad", '{"limits": {"max_run_minutes": -1}')
    configuration = store(account).load(REGISTRY)
    assert [p.name for p in configuration.policies] == ["good"]
    assert configuration.problems[0].name == "bad"
    assert "not valid JSON" in configuration.problems[0].reason


def test_documents_are_cached_until_max_age(account):
    cached = store(account, max_age=300)
    put_policy(account.clients, "first", {"limits": {"max_run_minutes": 60}})
    assert [p.name for p in cached.load(REGISTRY).policies] == ["first"]
    put_policy(account.clients, "second", {"limits": {"max_run_minutes": 60}})
    assert [p.name for p in cached.load(REGISTRY).policies] == ["first"]
    assert len(store(account, max_age=0).load(REGISTRY).policies) == 2


def test_push_writes_a_policy_parameter(account):
    store(account).push("nightly", json.dumps({"action": "notify"}))
    value = account.clients.client("ssm").get_parameter(Name="/jobwarden/policies/nightly")
    assert json.loads(value["Parameter"]["Value"]) == {"action": "notify"}
