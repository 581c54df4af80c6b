import pytest

from tests.factories import PASSWORD, MembershipFactory


@pytest.mark.django_db
def test_auth_token_returns_the_users_token_which_then_authenticates(api_client, owner):
    response = api_client.post(
        "/api/v1/auth/token/", {"username": owner.username, "password": PASSWORD}
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert len(token) == 40
    # Asking again answers the same token, not a new one each time.
    again = api_client.post(
        "/api/v1/auth/token/", {"username": owner.username, "password": PASSWORD}
    )
    assert again.json()["token"] == token

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = api_client.get("/api/v1/")
    assert me.status_code == 200
    assert me.json() == {
        "username": owner.username,
        "account": {
            "id": owner.membership.account_id,
            "name": owner.membership.account.name,
            "role": "owner",
        },
    }


@pytest.mark.django_db
def test_auth_token_wrong_password_is_401_envelope(api_client, owner):
    response = api_client.post(
        "/api/v1/auth/token/", {"username": owner.username, "password": "wrong"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert "token" not in response.json()


@pytest.mark.django_db
def test_auth_token_missing_fields_is_400_with_field_details(api_client):
    response = api_client.post("/api/v1/auth/token/", {"username": "someone"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["details"]) == {"password"}


@pytest.mark.django_db
def test_auth_token_inactive_user_is_refused(api_client):
    user = MembershipFactory(user__is_active=False).user
    response = api_client.post(
        "/api/v1/auth/token/", {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 401


@pytest.mark.django_db
def test_auth_session_login_also_authenticates_the_api(client, member):
    assert client.login(username=member.username, password=PASSWORD)
    response = client.get("/api/v1/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json()["account"]["role"] == "member"


@pytest.mark.django_db
def test_auth_token_endpoint_is_throttled_per_client(api_client, owner, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "2/min"})
    for _ in range(2):
        api_client.post("/api/v1/auth/token/", {"username": owner.username, "password": "bad"})
    response = api_client.post(
        "/api/v1/auth/token/", {"username": owner.username, "password": PASSWORD}
    )
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
