"""CodeBuild's incremental listing: after a full listing leaves a watermark, a sweep reads only
the builds new since then and the builds active then, and finds exactly what a full listing
finds; a missing, stale or lost watermark means a full listing again."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jobwarden.ledger import MemoryLedger
from jobwarden.listing import Listing
from jobwarden.model import Job, Mode, Settings
from jobwarden.report import Reporter
from jobwarden.result import SweepResult
from jobwarden.services.codebuild import CodeBuildBuilds
from jobwarden.watermark import (
    FULL_EVERY,
    STALE_AFTER,
    DynamoWatermarks,
    Mark,
    MemoryWatermarks,
    Watermark,
)

MINUTE = timedelta(minutes=1)


def count_calls(client: Any) -> Counter[str]:
    """Every call `client` makes from now on, by operation (a botocore hook)."""
    calls: Counter[str] = Counter()
    client.meta.events.register(
        "before-parameter-build", lambda model, **_: calls.update([model.name])
    )
    return calls


class Sweeps:
    """Full listings of CodeBuild builds in the emulated account, each with a new adapter (as
    each Lambda invocation has), sharing one watermark store."""

    def __init__(self, account: Any, watermarks: Any = None) -> None:
        self.account = account
        self.watermarks = watermarks or MemoryWatermarks()
        self.calls = count_calls(account.clients.client("codebuild"))

    def list(self, now: datetime) -> set[str]:
        settings = Settings()
        listing = Listing(
            settings,
            Reporter(MemoryLedger(), "test", Mode.DRY_RUN),
            "us-east-1",
            watermarks=self.watermarks,
        )
        adapter = CodeBuildBuilds(self.account.clients, "us-east-1", settings)
        self.calls.clear()
        jobs = listing.active_jobs(adapter, now, SweepResult("codebuild")) or []
        assert all(isinstance(job, Job) for job in jobs)
        return {job.job_id for job in jobs}

    def full(self, now: datetime) -> set[str]:
        """What a full listing without any watermark finds."""
        settings = Settings()
        adapter = CodeBuildBuilds(self.account.clients, "us-east-1", settings)
        return {job.job_id for job in adapter.list_active(now) if isinstance(job, Job)}


@pytest.fixture
def history(account):
    """250 finished builds over the last day and three in progress."""
    now = datetime.now(UTC)
    account.project("app", {"team": "web"})
    fill = account.emulator.fill("codebuild")
    for n in range(250):
        fill.finish(account.start_build("app", timedelta(hours=24) - n * 5 * MINUTE, now=now))
    active = {account.start_build("app", n * 10 * MINUTE, MINUTE, now=now) for n in (1, 2, 3)}
    return now, active


def test_after_a_full_listing_only_new_and_active_builds_are_read(account, history):
    now, active = history
    sweeps = Sweeps(account)

    assert sweeps.list(now) == active
    assert sweeps.calls["ListBuilds"] == 3  # the full listing: every page

    fill = account.emulator.fill("codebuild")
    ended = sorted(active)[0]
    fill.finish(ended)
    later = now + 5 * MINUTE
    new_active = {account.start_build("app", MINUTE, now=later) for _ in range(2)}
    for _ in range(3):
        fill.finish(account.start_build("app", 2 * MINUTE, now=later))

    found = sweeps.list(later)
    # 5 new + 3 active then: one page, one BatchGetBuilds, the projects' tags once.
    assert sweeps.calls == Counter(ListBuilds=1, BatchGetBuilds=1, BatchGetProjects=1)
    assert found == (active - {ended}) | new_active == sweeps.full(later)


def test_the_watermark_keeps_when_the_last_full_listing_ran(account, history):
    now, _active = history
    sweeps = Sweeps(account)
    sweeps.list(now)
    sweeps.list(now + 5 * MINUTE)

    kept = sweeps.watermarks.get("codebuild", "us-east-1")
    assert kept.at == now + 5 * MINUTE
    assert kept.full_at == now
    assert not kept.mark.full or kept.full_at == kept.at


@pytest.mark.parametrize(
    "watermark",
    [
        pytest.param(None, id="missing"),
        pytest.param("stale", id="stale"),
        pytest.param("no full listing for a day", id="full-listing-due"),
        pytest.param("boundary gone", id="boundary-gone"),
    ],
)
def test_a_missing_stale_or_lost_watermark_means_a_full_listing(account, history, watermark):
    now, active = history
    sweeps = Sweeps(account)
    sweeps.list(now)
    kept = sweeps.watermarks.get("codebuild", "us-east-1")
    if watermark is None:
        sweeps.watermarks.items.clear()
    elif watermark == "stale":
        sweeps.watermarks.put(
            "codebuild", "us-east-1", Watermark(kept.mark, now - STALE_AFTER, kept.full_at)
        )
    elif watermark == "no full listing for a day":
        sweeps.watermarks.put("codebuild", "us-east-1", Watermark(kept.mark, now, now - FULL_EVERY))
    else:  # the builds the watermark saw were deleted: paging never meets them
        sweeps.watermarks.put(
            "codebuild", "us-east-1", Watermark(Mark(("gone:1",), ()), now, now - MINUTE)
        )

    assert sweeps.list(now + MINUTE) == active
    assert sweeps.calls["ListBuilds"] == 3
    assert sweeps.watermarks.get("codebuild", "us-east-1").full_at == now + MINUTE


def test_a_new_build_listed_among_the_seen_ones_is_still_read(account, history, monkeypatch):
    """ListBuilds orders by build id, not strictly by start time: a build that shows up late
    sits inside the newest page the watermark saw, not above it."""
    now, active = history
    sweeps = Sweeps(account)
    sweeps.list(now)
    fill = account.emulator.fill("codebuild")
    late = account.start_build("app", MINUTE, MINUTE, now=now + 5 * MINUTE)
    ordered = fill.list_builds

    def disordered(params: dict[str, Any], region: str) -> dict[str, Any]:
        answer = ordered(params, region)
        ids = answer.get("ids", [])
        if late in ids:  # move it below the seen builds of its page
            ids.remove(late)
            ids.insert(len(ids) // 2, late)
        return answer

    monkeypatch.setattr(fill, "list_builds", disordered)  # operations() reads it each call

    assert sweeps.list(now + 5 * MINUTE) == active | {late}
    assert sweeps.calls["ListBuilds"] == 1


def test_an_unreadable_build_is_read_again_by_the_next_incremental_sweep(account, history):
    now, active = history
    sweeps = Sweeps(account)
    sweeps.list(now)
    refused = account.start_build("app", MINUTE, now=now + 5 * MINUTE)
    client = account.clients.client("codebuild")

    def refuse(params: dict[str, Any], **_: Any) -> None:
        if refused in params.get("ids", []):
            from botocore.exceptions import ClientError

            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "BatchGetBuilds"
            )

    client.meta.events.register("provide-client-params.codebuild.BatchGetBuilds", refuse)
    assert sweeps.list(now + 5 * MINUTE) == active
    assert refused in sweeps.watermarks.get("codebuild", "us-east-1").mark.active

    client.meta.events.unregister("provide-client-params.codebuild.BatchGetBuilds", refuse)
    assert sweeps.list(now + 10 * MINUTE) == active | {refused}


def test_the_watermark_round_trips_through_the_ledger_table(account):
    now = datetime.now(UTC)
    store = DynamoWatermarks(account.clients.dynamodb_table(account.resources.table))
    assert store.get("codebuild", "us-east-1") is None
    kept = Watermark(Mark(("a:1", "a:2"), ()), now, now - MINUTE)
    store.put("codebuild", "us-east-1", kept)
    assert store.get("codebuild", "us-east-1") == kept
