"""/metrics: labels from small fixed sets (templates, never keys, URLs or ids), and who may
read it."""

from __future__ import annotations

import re

import pytest

from core.metrics import endpoint_label
from tests.core.test_metrics import scrape
from tests.harness import SandboxProcess

ENDPOINT = re.compile(r"^(GET|POST|PUT|DELETE) (/([a-z_]+|\{[a-z_]+\}))+$")

# --- labels --------------------------------------------------------------------------------------


def test_endpoint_label_is_the_template_and_never_a_query_string():
    assert endpoint_label("get", "/items/{type}/{no}/price") == "GET /items/{type}/{no}/price"
    assert endpoint_label("GET", "/catalog/id_lookup?key=abc&id=3001") == "GET /catalog/id_lookup"


def test_marketplace_labels_carry_templates_never_keys_urls_or_ids(bricklink_sandbox, client, db):
    from marketplaces.bricklink import BrickLinkClient
    from marketplaces.brickowl import BrickOwlClient
    from marketplaces.errors import NotFound

    owl = BrickOwlClient(SandboxProcess.BRICKOWL_KEY)
    owl.id_lookup("3001")
    owl.color_list()
    bricklink = BrickLinkClient.platform()
    bricklink.item("3001", "PART")
    with pytest.raises(NotFound):
        bricklink.item("no-such-part-98765", "PART")

    metrics = scrape(client)
    series = [s for s in metrics.samples if s.name.startswith("brickops_marketplace_")]
    endpoints = {s.labels["endpoint"] for s in series}
    assert {"GET /catalog/id_lookup", "GET /catalog/color_list", "GET /items/{type}/{no}"} <= (
        endpoints
    )
    assert all(ENDPOINT.match(endpoint) for endpoint in endpoints), endpoints
    assert (
        metrics.get(
            "brickops_marketplace_requests_total",
            provider="bricklink",
            endpoint="GET /items/{type}/{no}",
            outcome="not_found",
        )
        >= 1
    )
    secrets = (SandboxProcess.BRICKOWL_KEY, *SandboxProcess.BRICKLINK_CREDENTIALS.values())
    for sample in metrics.samples:  # every series, not only the marketplace ones
        for value in sample.labels.values():
            for leak in ("?", "://", "key=", "3001", "98765", *secrets):
                assert leak not in value, sample
    assert SandboxProcess.BRICKOWL_KEY not in metrics.text


# --- access --------------------------------------------------------------------------------------


def test_metrics_is_open_unless_a_token_or_addresses_restrict_it(client, db, settings):
    assert client.get("/metrics").status_code == 200
    # What Prometheus asks for first: OpenMetrics.
    openmetrics = client.get("/metrics", HTTP_ACCEPT="application/openmetrics-text;version=1.0.0")
    assert openmetrics.status_code == 200
    assert openmetrics["Content-Type"].startswith("application/openmetrics-text")
    assert openmetrics.content.decode().endswith("# EOF\n")

    settings.METRICS_TOKEN = "scrape-token"
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Token scrape-token").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token").status_code == 200

    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "192.168.1.7"]
    assert client.get("/metrics").status_code == 403  # the test client is 127.0.0.1
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.168.1.7").status_code == 200
    assert client.post("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 405
