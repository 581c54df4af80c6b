import pytest
from django.urls import reverse

from ratelimit.selectors import rate_limit_status
from ratelimit.services import rate_limit_exhaust_until, rate_limit_take

URL = reverse("admin:ratelimit_bucket_changelist")


@pytest.mark.django_db
def test_rate_limit_page_lists_every_configured_limit(admin_client, settings):
    rate_limit_take(names="bricklink:global", count=3)
    rate_limit_take(names="brickowl:account", key="7")
    rate_limit_exhaust_until(name="bricklink:account", key="9", retry_after=60)
    page = admin_client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    for name in settings.RATE_LIMITS:
        assert name in html
    daily = settings.RATE_LIMITS["bricklink:global"]["rules"][0]["rate"]
    assert f"3 of {daily}" in html  # used today
    assert f"fixed window: {daily} per day (00:00 UTC)" in html
    assert "token bucket" in html
    assert "Blocked until" in html


@pytest.mark.django_db
def test_rate_limit_reset_action_restores_the_limit(admin_client):
    rate_limit_take(names="bricklink:global", count=4)
    response = admin_client.post(
        reverse("admin:ratelimit_bucket_reset"), {"name": "bricklink:global", "key": ""}
    )
    assert response.status_code == 302
    [status] = rate_limit_status(name="bricklink:global")
    assert status.rules[0].used == 0
    page = admin_client.get(URL)
    assert "was reset" in page.content.decode()


@pytest.mark.django_db
def test_rate_limit_reset_needs_post_and_a_known_limit(admin_client):
    assert admin_client.get(reverse("admin:ratelimit_bucket_reset")).status_code == 405
    response = admin_client.post(reverse("admin:ratelimit_bucket_reset"), {"name": "nope"})
    assert response.status_code == 302
    assert "No rate limit named" in admin_client.get(URL).content.decode()


@pytest.mark.django_db
def test_rate_limit_page_needs_staff(client, django_user_model):
    django_user_model.objects.create_user("plain", password="x-long-password")
    client.login(username="plain", password="x-long-password")
    assert client.get(URL).status_code == 302  # to the admin login
