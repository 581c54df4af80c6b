"""Leases renewed by their holder's heartbeat, fenced by the claim token."""

import time
import uuid
from datetime import timedelta

import pytest

from core import clock
from inventory.models import SyncState
from inventory.sync import claim_sync
from outbox import leases
from outbox.claims import finish
from tests.inventory.conftest import BL


@pytest.fixture
def claimed(store, no_publishing):
    item = store.create()
    state = store.state(item, BL)
    claim = claim_sync(state.pk, lease=30)
    assert claim is not None
    return claim


def _lease(claim) -> timedelta:
    return SyncState.objects.get(pk=claim.pk).lease_expires_at - clock.now()


def test_a_beat_renews_what_this_process_holds_and_nothing_else(fake_clock, claimed):
    fake_clock.advance(seconds=20)
    assert _lease(claimed) == timedelta(seconds=10)
    with leases.lease_held(model=SyncState, token=claimed.token, seconds=30):
        assert leases.leases_renew() == 1
        assert _lease(claimed) == timedelta(seconds=30)
    fake_clock.advance(seconds=20)
    assert leases.leases_renew() == 0  # no longer held: left to run out
    assert _lease(claimed) == timedelta(seconds=10)


def test_a_lost_claim_is_not_renewed(claimed):
    with leases.lease_held(model=SyncState, token=claimed.token, seconds=30):
        finish(claimed)  # taken away (reclaimed, or marked failed by an operator)
        assert leases.leases_renew() == 0
    assert SyncState.objects.get(pk=claimed.pk).lease_expires_at is None


def test_the_heartbeat_keeps_a_short_lease_alive_while_held(
    transactional_db, store, no_publishing, monkeypatch
):
    monkeypatch.setitem(leases._state, "enabled", True)
    item = store.create()
    claim = claim_sync(store.state(item, BL).pk, lease=0.6)
    with leases.lease_held(model=SyncState, token=claim.token, seconds=0.6):
        time.sleep(1.5)  # five beats of 0.2 s; the lease alone would have run out at 0.6 s
        assert _lease(claim) > timedelta(seconds=0.2)
    time.sleep(1)
    assert _lease(claim) < timedelta(0)  # no longer held: it ran out


def test_holding_without_a_heartbeat_renews_nothing(claimed):
    assert not leases._state["enabled"]  # this process is no worker
    with leases.lease_held(model=SyncState, token=uuid.uuid4(), seconds=1):
        assert leases._state["thread"] is None
