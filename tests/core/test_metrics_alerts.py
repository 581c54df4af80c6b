"""The alert rules (deploy/prometheus/alerts.yml) use only series /metrics exports."""

from __future__ import annotations

import re

import yaml

from catalog.domain import Resource
from catalog.models import DrainRun, Kind, Priority
from catalog.services import refresh_enqueue
from core import clock
from tests.core.test_metrics import scrape
from tests.harness import ROOT

ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"


def test_alert_rules_use_only_series_metrics_exports(bricklink_sandbox, client, db):
    from catalog.tasks import process_refresh

    # Make the process series the rules use exist: a refresh run here, and a finished drain.
    queued = refresh_enqueue(resource=Resource(Kind.PART, "3001"), priority=Priority.HIGH)
    assert process_refresh(queued.job_id) == "succeeded"
    DrainRun.objects.create(started_at=clock.now(), finished_at=clock.now())
    exported = scrape(client).names()

    rules = [
        rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]
    ]
    assert {
        "BrickopsOutboxBacklog",
        "BrickopsRefreshFailureRate",
        "BrickopsNoDrain",
        "BrickopsQuotaNearlySpent",
        "BrickopsWorkOverdue",
        "BrickopsLeasesNotReclaimed",
    } <= {rule["alert"] for rule in rules}
    for rule in rules:
        used = set(re.findall(r"\bbrickops_[a-z0-9_]+", rule["expr"]))
        assert used, rule["alert"]
        assert used <= exported, f"{rule['alert']} uses {used - exported}"
