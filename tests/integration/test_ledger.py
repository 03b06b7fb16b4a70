from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobwarden.ledger import DynamoLedger, Entry, Opened, Record, entry_key
from jobwarden.model import Mode, Outcome, Verdict


def entry(at: datetime, service: str = "codebuild", name: str = "nightly-etl") -> Entry:
    return Entry(
        subject=f"{service}#us-east-1#{name}:1",
        service=service,
        region="us-east-1",
        at=at,
        verdict=Verdict.STOP,
        outcome=Outcome.STOPPED,
        mode=Mode.ENFORCE,
        reason="running 95 min, over the 60 min limit of policy nightly-builds",
        job_id=f"{name}:1",
        job_name=name,
        policy="nightly-builds",
        run_minutes=95.0,
        cost_usd=0.48,
    )


def ledger(account, retention_days: int = 90) -> DynamoLedger:
    return DynamoLedger(account.clients.dynamodb_table(account.resources.table), retention_days)


def test_a_claim_is_granted_once(account):
    first, second = ledger(account), ledger(account)  # two racing sweeps
    now = datetime.now(UTC)
    assert first.claim("codebuild#us-east-1#a:1", "stop", now) is True
    assert second.claim("codebuild#us-east-1#a:1", "stop", now) is False
    assert second.claim("codebuild#us-east-1#a:1", "notify#p", now) is True
    first.release("codebuild#us-east-1#a:1", "stop")
    assert second.claim("codebuild#us-east-1#a:1", "stop", now) is True


def test_claims_are_counted_by_prefix(account):
    book = ledger(account)
    now = datetime.now(UTC)
    for attempt in (1, 2):
        book.claim("codebuild-batch#us-east-1#b:1", f"retry#{attempt}", now)
    book.claim("codebuild-batch#us-east-1#b:1", "stop", now)
    assert book.count_claims("codebuild-batch#us-east-1#b:1", "retry#") == 2


def record(at: datetime, owner: str = "sweep-a", lease: timedelta = timedelta(minutes=6)):
    pending = Entry.from_json({**entry(at).to_json(), "outcome": "pending"})
    return Record(pending, "stop", owner, at + lease, "open")


def test_a_decision_is_written_ahead_once_and_idempotent_for_its_owner(account):
    first, second = ledger(account), ledger(account)  # two racing sweeps
    now = datetime.now(UTC)
    mine = record(now)
    assert first.open(mine, now) is Opened.OURS
    assert first.open(mine, now) is Opened.OURS  # botocore's retry of an applied write
    assert second.open(record(now, owner="sweep-b"), now) is Opened.BUSY
    (item,) = account.ledger_items()
    assert (item["state"], item["outcome"], item["owner"], item["open"]) == (
        "open",
        "pending",
        "sweep-a",
        "codebuild#us-east-1",
    )
    assert [r.entry.job_id for r in second.open_records("codebuild", "us-east-1")] == [
        "nightly-etl:1"
    ]


def test_a_stale_lease_is_taken_over_once_and_the_old_owner_cannot_settle(account):
    book = ledger(account)
    now = datetime.now(UTC)
    dead = record(now - timedelta(minutes=10))  # its lease ran out 4 minutes ago
    book.open(dead, now - timedelta(minutes=10))
    late = record(now, owner="sweep-b")
    assert book.open(late, now) is Opened.STALE
    assert book.take_over(dead, "sweep-b", now + timedelta(minutes=6), now) is True
    assert book.take_over(dead, "sweep-c", now + timedelta(minutes=6), now) is False
    assert book.settle(dead, Outcome.STOPPED, "too late") is False  # sweep-a woke up: refused
    assert book.settle(late, Outcome.STOPPED, "stopped by b") is True
    assert book.settle(late, Outcome.STOPPED, "stopped by b") is True  # a retried settle
    (item,) = account.ledger_items()
    assert (item["state"], item["outcome"], item["reason"]) == (
        "settled",
        "stopped",
        "stopped by b",
    )
    assert "open" not in item
    assert book.open(record(now, owner="sweep-c"), now) is Opened.SETTLED


def test_settled_entries_wait_in_the_outbox_until_delivered(account):
    book = ledger(account)
    now = datetime.now(UTC)
    mine = record(now)
    book.open(mine, now)
    assert book.undelivered("codebuild") == []  # nothing to say before it is settled
    book.settle(mine, Outcome.STOPPED, "stopped")
    error = Entry(
        "sweep#codebuild#us-east-1",
        "codebuild",
        "us-east-1",
        now,
        Verdict.ERROR,
        Outcome.NONE,
        Mode.ENFORCE,
        "could not list",
    )
    assert book.record(error, entry_key("sweep-a", "listing")) is True
    assert book.record(error, entry_key("sweep-a", "listing")) is False  # once per key
    waiting = book.undelivered("codebuild")
    assert {(w.entry.outcome, w.entry.reason) for w in waiting} == {
        (Outcome.STOPPED, "stopped"),
        (Outcome.NONE, "could not list"),
    }
    for item in waiting:
        book.delivered(item)
    assert book.undelivered("codebuild") == []


def test_a_requested_stop_stays_open_for_any_sweep_to_read_back(account):
    book = ledger(account)
    now = datetime.now(UTC)
    mine = record(now)
    book.open(mine, now)
    assert book.settle(mine, Outcome.STOP_REQUESTED, "cancel requested") is True
    (still_open,) = book.open_records("codebuild", "us-east-1")
    assert still_open.entry.outcome is Outcome.STOP_REQUESTED
    assert still_open.lease_until < now  # any sweep may take it at once
    assert book.take_over(still_open, "sweep-b", now + timedelta(minutes=6), now) is True


def test_entries_are_listed_by_time_and_service_across_days(account):
    book = ledger(account)
    now = datetime.now(UTC)
    for at, service, name in (
        (now - timedelta(hours=30), "codebuild", "old"),
        (now - timedelta(hours=20), "codebuild", "yesterday"),
        (now - timedelta(minutes=5), "glue", "etl"),
        (now - timedelta(minutes=1), "codebuild", "recent"),
    ):
        book.record(entry(at, service=service, name=name), entry_key(name))
    assert [e.job_name for e in book.entries(now - timedelta(hours=24))] == [
        "yesterday",
        "etl",
        "recent",
    ]
    assert [e.job_name for e in book.entries(now - timedelta(hours=24), "glue")] == ["etl"]


def test_items_carry_the_schema_and_expire(account):
    now = datetime.now(UTC)
    ledger(account, retention_days=30).record(entry(now), entry_key("x"))
    (item,) = account.ledger_items()
    assert item["pk"] == "codebuild#us-east-1#nightly-etl:1"
    assert item["sk"] == f"entry#{entry_key('x')}"
    assert item["outbox"] == "codebuild"
    assert item["day"] == now.date().isoformat()
    assert item["expires_at"] == int((now + timedelta(days=30)).timestamp())
    assert float(item["cost_usd"]) == 0.48
    assert item["reason"].startswith("running 95 min")
    assert Entry.from_json(item) == entry(now)


def test_pending_retries_round_trip_per_service_and_region(account):
    from jobwarden.model import PendingRetry, Retry

    book = ledger(account)
    now = datetime.now(UTC)
    pending = PendingRetry(
        service="codebuild-batch",
        region="us-east-1",
        job_id="release:1",
        name="release",
        retry_subject="codebuild-batch#us-east-1#release:1",
        retry=Retry("RETRY_FAILED_BUILDS", 2),
        policy="releases",
        stopped_at=now,
        details={"project": "release"},
    )
    book.add_pending_retry(pending)
    assert book.pending_retries("codebuild-batch", "us-east-1") == [pending]
    assert book.pending_retries("codebuild-batch", "eu-west-1") == []
    book.remove_pending_retry(pending)
    assert book.pending_retries("codebuild-batch", "us-east-1") == []


def test_queries_follow_every_page(account):
    from jobwarden.ledger import query_pages

    book = ledger(account)
    now = datetime.now(UTC)
    for n in range(5):
        book.claim("codebuild#us-east-1#many:1", f"retry#{n}", now)
    table = account.clients.dynamodb_table(account.resources.table)
    pages = list(
        query_pages(
            table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": "codebuild#us-east-1#many:1"},
            Limit=2,
        )
    )
    assert len(pages) >= 3
    assert sum(len(page["Items"]) for page in pages) == 5
