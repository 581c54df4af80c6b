"""The OpenAPI schema is valid, warning-free, and documents every error answer."""

from __future__ import annotations

import os
import subprocess
import sys

from django.test import Client

from tests.harness import ROOT


def test_spectacular_validates_the_schema_without_a_warning(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            str(tmp_path / "schema.yaml"),
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stderr, result.stderr
    assert (tmp_path / "schema.yaml").stat().st_size > 10_000


def test_every_operation_documents_its_errors_in_the_envelope(db):
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    envelope = schema["components"]["schemas"]["Error"]
    assert envelope["required"] == ["error"]
    assert envelope["properties"]["error"]["required"] == ["code", "message", "details"]
    missing = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            expected = {"401", "429", "500"}
            if "requestBody" in operation:
                expected |= {"400", "413", "415"}
            if "{" in path:
                expected |= {"400", "404"}
            for status in sorted(expected):
                content = responses.get(status, {}).get("content", {})
                schema_ref = content.get("application/json", {}).get("schema", {}).get("$ref")
                if schema_ref != "#/components/schemas/Error":
                    missing.append(f"{method.upper()} {path} {status}")
            if "Retry-After" not in responses["429"].get("headers", {}):
                missing.append(f"{method.upper()} {path} 429 Retry-After")
    assert missing == []
