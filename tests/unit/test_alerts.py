from __future__ import annotations

from jobwarden.alerts import SUBJECT_LIMIT, subject_for
from jobwarden.ledger import Entry
from jobwarden.model import Mode, Outcome, Verdict

from tests.conftest import NOW


def entry(**fields):
    values = {
        "subject": "codebuild#us-east-1#nightly-etl:1",
        "service": "codebuild",
        "region": "us-east-1",
        "at": NOW,
        "verdict": Verdict.STOP,
        "outcome": Outcome.STOPPED,
        "mode": Mode.ENFORCE,
        "reason": "running 95 min, over the 60 min limit of policy nightly-builds",
        "job_name": "nightly-etl",
    }
    return Entry(**{**values, **fields})


def test_subject_says_what_happened():
    assert subject_for(entry()) == "jobwarden: codebuild nightly-etl stopped"
    assert subject_for(entry(outcome=Outcome.WOULD_STOP)).endswith("would stop (dry run)")


def test_subject_fits_sns_limits():
    text = subject_for(entry(job_name="ünïcode-" + "x" * 200 + "\nnext"))
    assert len(text) <= SUBJECT_LIMIT
    assert text.isascii()
    assert "\n" not in text


def test_entry_round_trips_through_json():
    original = entry(cost_usd=1.25, run_minutes=95.0, attempt=2)
    assert Entry.from_json(original.to_json()) == original
