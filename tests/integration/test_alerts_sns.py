from __future__ import annotations

import json
from datetime import UTC, datetime

from jobwarden.alerts import SnsAlerts
from jobwarden.ledger import Entry
from jobwarden.model import Mode, Outcome, Verdict


def test_alert_has_subject_json_body_and_filter_attributes(account):
    entry = Entry(
        subject="codebuild#us-east-1#web-app:1",
        service="codebuild",
        region="us-east-1",
        at=datetime.now(UTC),
        verdict=Verdict.STOP,
        outcome=Outcome.WOULD_STOP,
        mode=Mode.DRY_RUN,
        reason="queued 180 min, over the 60 min queue limit of policy all-builds",
        job_name="web-app",
    )
    SnsAlerts(account.clients.client("sns"), account.resources.topic_arn).publish(entry)
    (alert,) = account.alerts()
    assert alert["Subject"] == "jobwarden: codebuild web-app would stop (dry run)"
    assert json.loads(alert["Message"])["reason"] == entry.reason
    attributes = {k: v["Value"] for k, v in alert["MessageAttributes"].items()}
    assert attributes == {"service": "codebuild", "verdict": "stop", "mode": "dry_run"}
