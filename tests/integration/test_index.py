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
