from datetime import UTC, datetime, timedelta

import pytest

from catalog.freshness import Freshness, freshness_of, next_refresh_at

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("age_days", "expected"),
    [
        (0, Freshness.FRESH),
        (29, Freshness.FRESH),
        (31, Freshness.STALE),
        (59, Freshness.STALE),
        (61, Freshness.EXPIRED),
        (400, Freshness.EXPIRED),
    ],
)
def test_freshness_classes(age_days, expected):
    assert freshness_of(NOW - timedelta(days=age_days), NOW) == expected


def test_freshness_of_no_data_is_none():
    assert freshness_of(None, NOW) is None


def test_freshness_windows_are_settings(settings):
    settings.CATALOG_FRESH_DAYS = 5
    settings.CATALOG_EXPIRED_DAYS = 14
    assert freshness_of(NOW - timedelta(days=6), NOW) == Freshness.STALE
    assert freshness_of(NOW - timedelta(days=15), NOW) == Freshness.EXPIRED


def test_next_refresh_is_when_data_stops_being_fresh():
    fetched = NOW - timedelta(days=10)
    assert next_refresh_at(fetched, NOW) == fetched + timedelta(days=30)
    assert next_refresh_at(NOW - timedelta(days=45), NOW) == NOW
    assert next_refresh_at(None, NOW) == NOW
