"""The OpenAPI schema of the inventory and marketplace API."""

import pytest

from inventory import services

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("published")]


def test_openapi_schema_documents_the_inventory_api(client):
    """What the schema says of these endpoints (that it is valid and warning-free is
    tests/security/test_schema.py's CLI check)."""
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
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
