from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobwarden.ledger import DynamoLedger, Entry
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


def test_entries_are_listed_by_time_and_service_across_days(account):
    book = ledger(account)
    now = datetime.now(UTC)
    book.record(entry(now - timedelta(hours=30), name="old"))
    book.record(entry(now - timedelta(hours=20), name="yesterday"))
    book.record(entry(now - timedelta(minutes=5), service="glue", name="etl"))
    book.record(entry(now - timedelta(minutes=1), name="recent"))
    assert [e.job_name for e in book.entries(now - timedelta(hours=24))] == [
        "yesterday",
        "etl",
        "recent",
    ]
    assert [e.job_name for e in book.entries(now - timedelta(hours=24), "glue")] == ["etl"]


def test_items_carry_the_schema_and_expire(account):
    now = datetime.now(UTC)
    ledger(account, retention_days=30).record(entry(now))
    (item,) = account.ledger_items()
    assert item["pk"] == "codebuild#us-east-1#nightly-etl:1"
    assert item["sk"].endswith("#stop")
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
