"""The active-jobs index in the ledger table: conditional writes keep it right."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from jobwarden.index import Change, DynamoIndex, IndexedJob, JobEvent

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def index(account) -> DynamoIndex:
    return DynamoIndex(account.clients.dynamodb_table(account.resources.table))


def event(job_id: str, at: datetime, active: bool = True, state: str = "RUNNING") -> JobEvent:
    return JobEvent("glue", "us-east-1", job_id, "etl", state, active, at, submitted_at=NOW)


def test_enter_update_leave(account):
    jobs = index(account)
    assert jobs.observe(event("jr_1", NOW))[0] is Change.ENTERED
    change, before = jobs.observe(event("jr_1", NOW + timedelta(minutes=1)))
    assert change is Change.UPDATED
    assert before is not None
    assert before.first_seen == NOW
    (active,) = jobs.active("glue", "us-east-1")
    assert (active.job_id, active.name, active.state) == ("jr_1", "etl", "RUNNING")
    jobs.set_deadline("glue", "us-east-1", "jr_1", "jw-glue-abc")
    change, before = jobs.observe(event("jr_1", NOW + timedelta(minutes=2), False, "SUCCEEDED"))
    assert change is Change.LEFT
    assert before is not None
    assert before.deadline_schedule == "jw-glue-abc"
    assert jobs.active("glue", "us-east-1") == []


def test_late_and_stale_events_change_nothing(account):
    jobs = index(account)
    assert jobs.observe(event("jr_2", NOW, False, "FAILED"))[0] is Change.LEFT
    assert jobs.observe(event("jr_2", NOW - timedelta(minutes=5)))[0] is Change.IGNORED
    assert jobs.observe(event("jr_2", NOW + timedelta(minutes=5)))[0] is Change.IGNORED
    assert jobs.active("glue", "us-east-1") == []
    assert jobs.observe(event("jr_3", NOW))[0] is Change.ENTERED
    assert jobs.observe(event("jr_3", NOW - timedelta(seconds=1)))[0] is Change.IGNORED


def test_listing_adds_missed_jobs_once_and_records_reconciliation(account):
    jobs = index(account)
    missed = IndexedJob("glue", "us-east-1", "jr_4", "etl", "RUNNING", NOW, NOW)
    assert jobs.add(missed) is True
    assert jobs.add(replace(missed, state="WAITING")) is False
    assert [j.job_id for j in jobs.active("glue", "us-east-1")] == ["jr_4"]
    assert jobs.last_reconciled("glue", "us-east-1") is None
    jobs.mark_reconciled("glue", "us-east-1", NOW)
    assert jobs.last_reconciled("glue", "us-east-1") == NOW


def test_ended_jobs_expire(account):
    jobs = index(account)
    jobs.observe(event("jr_5", NOW, False, "STOPPED"))
    table = account.clients.dynamodb_table(account.resources.table)
    item = table.get_item(Key={"pk": "active#glue#us-east-1", "sk": "jr_5"})["Item"]
    assert int(item["expires_at"]) == int((NOW + timedelta(days=2)).timestamp())


def index_items(account) -> list[dict]:
    """What a sweep's query can read: the sparse active-jobs index, as DynamoDB holds it."""
    table = account.clients.dynamodb_table(account.resources.table)
    return table.query(
        IndexName="active",
        KeyConditionExpression="active_pk = :pk",
        ExpressionAttributeValues={":pk": "active#glue#us-east-1"},
    )["Items"]


def test_tombstones_stay_in_the_table_but_out_of_the_index_a_sweep_reads(account):
    jobs = index(account)
    for n in range(20):
        jobs.observe(event(f"jr_done{n}", NOW))
        jobs.observe(event(f"jr_done{n}", NOW + timedelta(minutes=1), False, "SUCCEEDED"))
    jobs.observe(event("jr_live", NOW))
    assert [item["sk"] for item in index_items(account)] == ["jr_live"]
    assert [j.job_id for j in jobs.active("glue", "us-east-1")] == ["jr_live"]
    # The tombstones are still in the table, and still refuse a late RUNNING.
    table = account.clients.dynamodb_table(account.resources.table)
    tombstone = table.get_item(Key={"pk": "active#glue#us-east-1", "sk": "jr_done7"})["Item"]
    assert "ended_at" in tombstone
    assert "active_pk" not in tombstone
    assert jobs.observe(event("jr_done7", NOW + timedelta(minutes=5)))[0] is Change.IGNORED
    assert [item["sk"] for item in index_items(account)] == ["jr_live"]


def test_a_listed_job_enters_the_index_and_leaves_it_when_it_ends(account):
    jobs = index(account)
    assert jobs.add(IndexedJob("glue", "us-east-1", "jr_6", "etl", "RUNNING", NOW, NOW))
    assert [item["sk"] for item in index_items(account)] == ["jr_6"]
    jobs.observe(event("jr_6", NOW + timedelta(minutes=1), False, "FAILED"))
    assert index_items(account) == []
    # A listing that still sees it (a stale page) does not put a tombstone back.
    assert not jobs.add(IndexedJob("glue", "us-east-1", "jr_6", "etl", "RUNNING", NOW, NOW))
    assert index_items(account) == []


def test_an_item_from_before_the_index_is_repaired_by_the_next_listing(account):
    table = account.clients.dynamodb_table(account.resources.table)
    table.put_item(
        Item={
            "pk": "active#glue#us-east-1",
            "sk": "jr_7",
            "service": "glue",
            "region": "us-east-1",
            "job_name": "etl",
            "state": "WAITING",
            "first_seen": NOW.isoformat(),
            "last_event_at": NOW.isoformat(),
            "deadline_schedule": "jw-glue-7",
        }
    )
    jobs = index(account)
    assert jobs.active("glue", "us-east-1") == []
    later = NOW + timedelta(minutes=30)
    assert (
        jobs.add(IndexedJob("glue", "us-east-1", "jr_7", "other", "RUNNING", later, later)) is False
    )
    (repaired,) = jobs.active("glue", "us-east-1")
    assert (repaired.name, repaired.state, repaired.first_seen) == ("etl", "WAITING", NOW)
    assert repaired.deadline_schedule == "jw-glue-7"
    assert (
        jobs.add(IndexedJob("glue", "us-east-1", "jr_7", "etl", "RUNNING", later, later)) is False
    )
