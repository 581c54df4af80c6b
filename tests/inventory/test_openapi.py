"""The OpenAPI schema of the inventory and marketplace API."""

import subprocess
import sys

import pytest
import yaml
from django.conf import settings

from inventory import services

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("published")]


def test_openapi_schema_is_valid_without_warnings(tmp_path):
    """The CLI check, in a fresh process so no earlier schema generation's warnings count."""
    target = tmp_path / "schema.yaml"
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            str(target),
        ],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stderr
    schema = yaml.safe_load(target.read_text())
    paths = schema["paths"]
    assert set(paths["/api/v1/inventory/items/"]) == {"get", "post"}
    assert set(paths["/api/v1/inventory/items/{item_id}/"]) == {"get", "patch", "delete"}
    assert set(paths["/api/v1/inventory/items/{item_id}/history/"]) == {"get"}
    assert set(paths["/api/v1/inventory/items/{item_id}/sync/"]) == {"post"}
    assert set(paths["/api/v1/marketplaces/"]) == {"get"}
    assert set(paths["/api/v1/marketplaces/bricklink/"]) == {"get", "put"}
    assert set(paths["/api/v1/marketplaces/brickowl/"]) == {"get", "put"}
    item_schema = schema["components"]["schemas"]["Item"]["properties"]
    assert set(item_schema) == {
        "id",
        "part_number",
        "color_id",
        "name",
        "condition",
        "quantity_available",
        "quantity_reserved",
        "quantity_sold",
        "status",
        "location",
        "price",
        "notes",
        "created_at",
        "updated_at",
        "sync",
    }
    credentials = schema["components"]["schemas"]["BrickLinkCredentialsRequest"]
    assert set(credentials["required"]) == set(services.REQUIRED_CREDENTIALS["bricklink"])
    assert "BrickLinkCredentials" not in schema["components"]["schemas"]  # never answered
