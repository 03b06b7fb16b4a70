"""The settings document is read fresh on every load; the policies stay cached."""

from __future__ import annotations

from jobwarden.local.account import put_policy, put_settings
from jobwarden.model import Mode
from jobwarden.policies import ParameterStore
from jobwarden.services import REGISTRY


def warm_store(account) -> ParameterStore:
    return ParameterStore(account.clients.client("ssm"), max_age=300)


def test_a_warm_store_sees_a_kill_switch_written_between_two_loads(account):
    put_settings(account.clients, {"mode": "enforce", "kill_switch": False})
    store = warm_store(account)
    assert store.load(REGISTRY).settings.kill_switch is False
    put_settings(account.clients, {"mode": "enforce", "kill_switch": True})
    assert store.load(REGISTRY).settings.kill_switch is True


def test_a_warm_store_sees_the_mode_change_at_once(account):
    put_settings(account.clients, {"mode": "enforce"})
    store = warm_store(account)
    assert store.load(REGISTRY).settings.mode is Mode.ENFORCE
    put_settings(account.clients, {"mode": "dry_run"})
    assert store.load(REGISTRY).settings.mode is Mode.DRY_RUN


def test_policies_stay_cached_while_the_settings_do_not(account):
    put_policy(account.clients, "first", {"limits": {"max_run_minutes": 60}})
    store = warm_store(account)
    store.load(REGISTRY)
    put_policy(account.clients, "second", {"limits": {"max_run_minutes": 60}})
    put_settings(account.clients, {"kill_switch": True})
    configuration = store.load(REGISTRY)
    assert [p.name for p in configuration.policies] == ["first"]
    assert configuration.settings.kill_switch is True


def test_read_settings_reads_fresh_every_time(account):
    store = warm_store(account)
    assert store.read_settings().kill_switch is False  # missing: the defaults
    put_settings(account.clients, {"kill_switch": True})
    assert store.read_settings().kill_switch is True
    put_settings(account.clients, {"kill_switch": False, "mode": "enforce"})
    assert store.read_settings().mode is Mode.ENFORCE


def test_read_settings_of_a_broken_document_turns_the_kill_switch_on(account):
    put_settings(account.clients, {"mode": "enforce", "kill_switch": "no"})
    settings = warm_store(account).read_settings()
    assert settings.kill_switch is True
    assert settings.mode is Mode.DRY_RUN


def test_read_settings_after_a_fix_turns_it_off_again(account):
    store = warm_store(account)
    put_settings(account.clients, {"regions": ["us east 2"]})
    assert store.read_settings().kill_switch is True
    put_settings(account.clients, {"regions": ["us-east-2"]})
    assert store.read_settings().kill_switch is False
