"""Requests to the sandbox as a plain HTTP client makes them.

Plain ``requests`` and ``requests_oauthlib.OAuth1`` on purpose: the tests in this package pin
down what the sandbox says on the wire, independently of the project's clients.
"""

from __future__ import annotations

from requests_oauthlib import OAuth1

from marketplaces.sandbox.catalog import build_catalog
from tests.harness import SandboxProcess

CREDS = SandboxProcess.BRICKLINK_CREDENTIALS
OWL_KEY = SandboxProcess.BRICKOWL_KEY
TIMEOUT = 5


def oauth(**overrides) -> OAuth1:
    creds = {**CREDS, **overrides}
    extra = {key: creds.pop(key) for key in ("nonce", "timestamp") if key in creds}
    return OAuth1(
        creds["consumer_key"],
        creds["consumer_secret"],
        creds["token_value"],
        creds["token_secret"],
        **extra,
    )


def get(session, path: str, **params):
    return session.get(f"{session.base}{path}", params=params, timeout=TIMEOUT)


def meta(response) -> dict:
    return response.json()["meta"]


def create_lot(bl, **fields) -> dict:
    lot = {
        "item": {"no": "3001", "type": "PART"},
        "color_id": 11,
        "quantity": 5,
        "unit_price": "0.125",
        "new_or_used": "N",
        **fields,
    }
    response = bl.post(f"{bl.base}/inventories", json=lot, timeout=TIMEOUT)
    assert meta(response)["code"] == 201, response.text
    return response.json()["data"]


def put_lot(bl, inventory_id: int, body: dict, **kwargs):
    return bl.put(
        f"{bl.base}/inventories/{inventory_id}", json=body, timeout=kwargs.get("timeout", TIMEOUT)
    )


def owl_post(owl, action: str, key: str = OWL_KEY, **form):
    return owl.post(f"{owl.base}/inventory/{action}", data={"key": key, **form}, timeout=TIMEOUT)


def owl_create(owl, **form) -> str:
    catalog = build_catalog(1)
    fields = {
        "boid": catalog.item("PART", "3001").boid,
        "color_id": catalog.colors[11].brickowl_id,
        "quantity": "3",
        "price": "0.125",
        "condition": "new",
        "external_id": "brickops-1",
        **form,
    }
    response = owl_post(owl, "create", **fields)
    assert response.status_code == 200, response.text
    return response.json()["lot_id"]


def bricklink_create(bl, timeout: float = TIMEOUT):
    lot = {
        "item": {"no": "3001", "type": "PART"},
        "color_id": 11,
        "quantity": 1,
        "unit_price": "1",
        "new_or_used": "N",
    }
    return bl.post(f"{bl.base}/inventories", json=lot, timeout=timeout)
