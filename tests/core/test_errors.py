"""Every error under /api/ is the JSON envelope with the right status, DEBUG on or off."""

import pytest
from django.test import override_settings
from django.urls import include, path
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView


class ExplodingView(APIView):
    def get(self, request):
        raise RuntimeError("boom: a secret-ish traceback detail")


urlpatterns = [
    path("api/v1/_boom/", ExplodingView.as_view()),
    path("", include("config.urls")),
]


def assert_envelope(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_api_unknown_path_is_404_envelope(owner_client, settings, debug):
    settings.DEBUG = debug
    assert_envelope(owner_client.get("/api/v1/no-such-thing/"), 404, "not_found")
    assert_envelope(owner_client.get("/api/nothing-here"), 404, "not_found")


@pytest.mark.django_db
def test_api_wrong_method_is_405_envelope(owner_client):
    response = owner_client.delete("/api/v1/")
    assert_envelope(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
@override_settings(ROOT_URLCONF=__name__)
def test_api_crash_is_500_envelope_without_traceback(owner_client, settings, debug, caplog):
    settings.DEBUG = debug
    owner_client.raise_request_exception = False
    response = owner_client.get("/api/v1/_boom/")
    error = assert_envelope(response, 500, "server_error")
    assert "boom" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert error["details"] == {}
    assert any("boom" in (r.exc_text or str(r.exc_info)) for r in caplog.records if r.exc_info)


@pytest.mark.django_db
def test_api_without_credentials_is_401_envelope(api_client):
    response = api_client.get("/api/v1/")
    assert_envelope(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.django_db
def test_api_bad_token_is_401_envelope(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_envelope(api_client.get("/api/v1/"), 401, "authentication_failed")


@pytest.mark.django_db
def test_api_throttled_is_429_envelope_with_retry_after(owner_client, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/min", "anon": "3/min"})
    for _ in range(3):
        assert owner_client.get("/api/v1/").status_code == 200
    response = owner_client.get("/api/v1/")
    error = assert_envelope(response, 429, "throttled")
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60
    assert error["details"] == {"retry_after": retry_after}


@pytest.mark.django_db
def test_api_malformed_json_is_400_envelope(api_client):
    response = api_client.post(
        "/api/v1/auth/token/", data=b"{not json", content_type="application/json"
    )
    assert_envelope(response, 400, "parse_error")


@pytest.mark.django_db
def test_api_form_body_is_415_envelope(api_client):
    response = api_client.post(
        "/api/v1/auth/token/",
        data="username=a&password=b",
        content_type="application/x-www-form-urlencoded",
    )
    assert_envelope(response, 415, "unsupported_media_type")


@pytest.mark.django_db
def test_api_oversized_body_is_413_envelope(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = b'{"username": "' + b"x" * 4096 + b'", "password": "y"}'
    response = api_client.post("/api/v1/auth/token/", data=body, content_type="application/json")
    assert_envelope(response, 413, "request_too_large")


def test_non_api_404_is_not_forced_into_json(client, db):
    response = client.get("/definitely-not-here/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")
