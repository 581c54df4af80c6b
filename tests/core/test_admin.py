"""Smoke test of every ModelAdmin: its changelist, its add page and an object's change page."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from catalog.models import Category, Color, DrainRun, MissingPart, RefreshJob
from core import clock
from core.models import WorkerHeartbeat
from ratelimit.models import Bucket, CircuitBreaker
from takeover.models import StoreImport
from tests.factories import (
    AccountFactory,
    BrickOwlPartFactory,
    InventoryHistoryFactory,
    MarketplaceConnectionFactory,
    MembershipFactory,
    OrderFeedFactory,
    OrderLineFactory,
    PartFactory,
    SyncStateFactory,
    part_colors,
    price_guides,
    token_for,
)


def _periodic_task():
    every_10s = IntervalSchedule.objects.create(every=10, period="seconds")
    return PeriodicTask.objects.create(name="t", task="core.heartbeat", interval=every_10s)


OBJECT_MAKERS = {
    "accounts.user": lambda: MembershipFactory().user,
    "accounts.account": lambda: AccountFactory(),
    "auth.group": lambda: Group.objects.create(name="ops"),
    "authtoken.tokenproxy": lambda: _token_proxy(),
    "core.workerheartbeat": lambda: WorkerHeartbeat.objects.create(
        hostname="w1", seen_at=clock.now()
    ),
    "django_celery_beat.periodictask": _periodic_task,
    "django_celery_beat.intervalschedule": lambda: IntervalSchedule.objects.create(
        every=5, period="minutes"
    ),
    "django_celery_beat.crontabschedule": lambda: CrontabSchedule.objects.create(
        minute="0", hour="2"
    ),
    "django_celery_beat.solarschedule": lambda: SolarSchedule.objects.create(
        event="sunset", latitude=1, longitude=1
    ),
    "django_celery_beat.clockedschedule": lambda: ClockedSchedule.objects.create(
        clocked_time=clock.now()
    ),
    "ratelimit.bucket": lambda: Bucket.objects.create(
        name="bricklink:global", rule=0, value=4, ts=0
    ),
    "ratelimit.circuitbreaker": lambda: CircuitBreaker.objects.create(
        name="bricklink", updated_at=clock.now()
    ),
    "catalog.part": lambda: PartFactory(),
    "catalog.color": lambda: Color.objects.create(
        color_id=11, name="Black", code="05131D", last_fetched=clock.now()
    ),
    "catalog.category": lambda: Category.objects.create(
        category_id=5, name="Brick", last_fetched=clock.now()
    ),
    "catalog.partcolorlist": lambda: part_colors("3001", {11: 5}),
    "catalog.priceguide": lambda: price_guides("3001", 11)[0],
    "catalog.missingpart": lambda: MissingPart.objects.create(
        no="9999999", confirmed_at=clock.now()
    ),
    "catalog.refreshjob": lambda: RefreshJob.objects.create(
        kind="part",
        no="3001",
        resource="part:3001",
        next_attempt_at=clock.now(),
        created_at=clock.now(),
        updated_at=clock.now(),
        last_error={"code": "transient", "message": "HTTP 500 " * 20},
    ),
    "catalog.drainrun": lambda: DrainRun.objects.create(started_at=clock.now()),
    "inventory.inventoryitem": lambda: (
        SyncStateFactory(last_error={"code": "transient", "message": "HTTP 503 " * 20}).item
    ),
    "inventory.inventoryhistory": lambda: InventoryHistoryFactory(),
    "inventory.marketplaceconnection": lambda: MarketplaceConnectionFactory(),
    "inventory.syncstate": lambda: SyncStateFactory(
        status="failed", last_error={"code": "invalid", "message": "BrickLink said no " * 10}
    ),
    "inventory.brickowlpart": lambda: BrickOwlPartFactory(),
    "orders.order": lambda: OrderLineFactory(effect="oversold", oversold_quantity=1).order,
    "orders.orderfeed": lambda: OrderFeedFactory(),
    "takeover.storeimport": lambda: StoreImport.objects.create(
        account=AccountFactory(),
        provider="brickowl",
        status="done",
        lots_seen=3,
        unmapped=[{"lot_id": "77", "reason": "BrickOwl part 1234 has no BrickLink number we know"}],
        started_at=clock.now(),
        finished_at=clock.now(),
    ),
}


def _token_proxy():
    from rest_framework.authtoken.models import TokenProxy

    user = MembershipFactory().user
    token_for(user)
    return TokenProxy.objects.get(user=user)


def registered_models():
    return sorted(
        (f"{model._meta.app_label}.{model._meta.model_name}", model)
        for model in admin.site._registry
    )


def test_admin_every_registered_model_has_an_object_maker():
    assert {label for label, _ in registered_models()} == set(OBJECT_MAKERS)


@pytest.mark.django_db
@pytest.mark.parametrize("label", [label for label, _ in registered_models()])
def test_admin_changelist_and_change_page_render(admin_client, label):
    app_label, model_name = label.split(".")
    obj = OBJECT_MAKERS[label]()
    changelist = admin_client.get(reverse(f"admin:{app_label}_{model_name}_changelist"))
    assert changelist.status_code == 200
    change = admin_client.get(reverse(f"admin:{app_label}_{model_name}_change", args=[obj.pk]))
    assert change.status_code == 200
    add = admin_client.get(reverse(f"admin:{app_label}_{model_name}_add"))
    model_admin = admin.site._registry[type(obj)]
    assert add.status_code == (200 if model_admin.has_add_permission(add.wsgi_request) else 403)


@pytest.mark.django_db
def test_admin_login_page_and_login(client, django_user_model):
    django_user_model.objects.create_superuser("root", password="root-pass-123")
    assert client.get("/admin/login/").status_code == 200
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "root", "password": "root-pass-123"}
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
