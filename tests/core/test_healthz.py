import pytest
from django.db import connections


@pytest.mark.django_db
def test_healthz_ok_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db(transaction=True)
def test_healthz_503_names_the_database_when_it_is_down(client):
    conn = connections["default"]
    saved_port = conn.settings_dict["PORT"]
    conn.close()
    conn.settings_dict["PORT"] = 1  # nothing listens there: a real refused connection
    try:
        response = client.get("/healthz")
    finally:
        conn.close()
        conn.settings_dict["PORT"] = saved_port
    assert response.status_code == 503
    assert response.json() == {"database": "down", "broker": "ok"}


@pytest.mark.django_db
def test_healthz_503_names_the_broker_when_it_is_down(client, monkeypatch):
    from config.celery import app

    # Publishing uses the write URL: point it where nothing listens (a real refused connection).
    monkeypatch.setattr(app.conf, "broker_write_url", "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "down"}


def test_healthz_needs_no_authentication_and_only_get(client, db):
    assert client.post("/healthz").status_code == 405
