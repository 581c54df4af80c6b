"""The limiter on PostgreSQL with a fake clock: no test sleeps."""

from datetime import UTC, datetime

import pytest
from django.db import transaction

from ratelimit.models import Bucket
from ratelimit.rules import LimitCannotFit
from ratelimit.selectors import rate_limit_status
from ratelimit.services import (
    rate_limit_check,
    rate_limit_exhaust_until,
    rate_limit_reset,
    rate_limit_take,
)

MINUTE, HOUR, DAY = 60, 3600, 86400


@pytest.fixture
def limits(settings):
    """Install test limits; each test gets exactly these."""

    def install(**specs):
        settings.RATE_LIMITS = {
            name.replace("_", ":"): {"rules": rules if isinstance(rules, list) else [rules]}
            for name, rules in specs.items()
        }

    return install


def take(name="t", **kwargs):
    return rate_limit_take(names=name, **kwargs)


def fixed(rate, period, **kw):
    return {"kind": "fixed_window", "rate": rate, "period": period, **kw}


def bucket(rate, period, **kw):
    return {"kind": "token_bucket", "rate": rate, "period": period, **kw}


# --- token bucket --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_token_bucket_burst_then_retry_after_is_exact(limits, fake_clock):
    limits(t=bucket(1, 1, capacity=4))
    assert [take().granted for _ in range(4)] == [True] * 4  # the burst
    denied = take()
    assert not denied.granted
    assert denied.retry_after == pytest.approx(1.0)
    assert denied.limit == "t"
    fake_clock.advance(seconds=0.5)
    assert take().retry_after == pytest.approx(0.5)
    fake_clock.advance(seconds=0.5)
    assert take().granted
    assert not take().granted


@pytest.mark.django_db
def test_token_bucket_refills_continuously_up_to_capacity(limits, fake_clock):
    limits(t=bucket(10, MINUTE, capacity=10))
    assert take(count=10).granted
    fake_clock.advance(seconds=30)
    assert take(count=5).granted  # 5 tokens came back in 30 s
    assert not take(count=1).granted
    fake_clock.advance(hours=5)
    assert take(count=10).granted  # never more than capacity, however long the wait
    assert not take(count=1).granted


@pytest.mark.django_db
def test_token_bucket_retry_after_for_a_multi_token_take(limits, fake_clock):
    limits(t=bucket(2, 1, capacity=8))
    assert take(count=8).granted
    denied = take(count=5)
    assert denied.retry_after == pytest.approx(2.5)  # 5 tokens at 2 per second
    fake_clock.advance(seconds=2.5)
    assert take(count=5).granted


# --- fixed window --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_fixed_window_daily_quota_resets_at_utc_midnight_without_rollover(limits, fake_clock):
    limits(t=fixed(3, DAY))  # the clock starts at 2026-11-20 10:00 UTC
    assert [take().granted for _ in range(3)] == [True] * 3
    denied = take()
    assert not denied.granted
    assert denied.retry_after == pytest.approx(14 * HOUR)  # until 00:00 UTC
    fake_clock.current = datetime(2026, 11, 20, 23, 59, 59, tzinfo=UTC)
    assert not take().granted
    fake_clock.current = datetime(2026, 11, 21, 0, 0, 0, tzinfo=UTC)
    assert [take().granted for _ in range(4)] == [True, True, True, False]
    fake_clock.current = datetime(2026, 11, 24, 0, 0, 1, tzinfo=UTC)
    # Three idle days: still 3, not 9 (capacity == rate: no rollover).
    assert [take().granted for _ in range(4)] == [True, True, True, False]


@pytest.mark.django_db
def test_fixed_window_with_rollover_capacity(limits, fake_clock):
    limits(t=fixed(2, HOUR, capacity=5))
    fake_clock.current = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert take().granted  # 1 left of the first window's 2
    fake_clock.current = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
    assert take(count=5).granted  # 1 + 3 x 2 = 7, capped at 5
    assert not take().granted


@pytest.mark.django_db
def test_fixed_window_retry_after_counts_whole_windows(limits, fake_clock):
    limits(t=fixed(2, MINUTE, capacity=4))
    fake_clock.current = datetime(2026, 11, 20, 10, 0, 15, tzinfo=UTC)
    assert take(count=4).granted  # a new bucket starts full, at its capacity
    assert take(count=2).retry_after == pytest.approx(45)  # 10:01 brings 2
    assert take(count=4).retry_after == pytest.approx(45 + 60)  # 10:02 brings the next 2


@pytest.mark.django_db
def test_fixed_window_with_a_start_offset(limits, fake_clock):
    limits(t=fixed(1, HOUR, start=15 * MINUTE))  # windows start at :15
    fake_clock.current = datetime(2026, 11, 20, 10, 10, tzinfo=UTC)
    assert take().granted
    assert take().retry_after == pytest.approx(5 * MINUTE)


# --- reservations --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reservation_without_a_maximum_queues_callers_fairly(limits, fake_clock):
    limits(t=bucket(1, 1, capacity=2))
    assert take(count=2).retry_after == 0
    first = take(reserve=True)
    second = take(reserve=True)
    assert first.granted
    assert second.granted
    assert first.retry_after == pytest.approx(1.0)
    assert second.retry_after == pytest.approx(2.0)
    # A plain take must wait behind the reservations.
    assert take().retry_after == pytest.approx(3.0)
    fake_clock.advance(seconds=2)
    assert not take().granted  # the debt is repaid, the bucket is empty
    fake_clock.advance(seconds=1)
    assert take().granted


@pytest.mark.django_db
def test_reservation_with_a_maximum_is_bounded(limits, fake_clock):
    limits(t=bucket(1, 1, capacity=2, max_reserved=2))
    assert take(count=2).granted
    assert take(reserve=True).granted
    assert take(reserve=True).granted
    third = take(reserve=True)
    assert not third.granted
    assert third.retry_after == pytest.approx(3.0)


@pytest.mark.django_db
def test_reservation_on_a_fixed_window_runs_in_the_next_window(limits, fake_clock):
    limits(t=fixed(2, MINUTE))
    fake_clock.current = datetime(2026, 11, 20, 10, 0, 40, tzinfo=UTC)
    take(count=2)
    reserved = take(reserve=True)
    assert reserved.granted
    assert reserved.retry_after == pytest.approx(20)


# --- never fits, multi-take, exhaust-until, check, reset ------------------------------------------


@pytest.mark.django_db
def test_a_take_that_can_never_fit_raises_at_once(limits):
    limits(t=bucket(1, 1, capacity=4), r=bucket(1, 1, capacity=4, max_reserved=2))
    with pytest.raises(LimitCannotFit):
        take(count=5)
    with pytest.raises(LimitCannotFit):
        take("r", count=7, reserve=True)
    assert take("r", count=6, reserve=True).granted
    assert not Bucket.objects.filter(name="t").exists()


@pytest.mark.django_db
def test_multi_take_is_all_or_nothing(limits, fake_clock):
    limits(a=fixed(5, DAY), b=fixed(2, DAY))
    assert rate_limit_take(names=["a", "b"], count=2).granted
    denied = rate_limit_take(names=["a", "b"])
    assert not denied.granted
    assert denied.limit == "b"
    # "a" gave nothing to the denied take: 3 left.
    assert rate_limit_take(names="a", count=3).granted
    assert not rate_limit_take(names="a").granted


@pytest.mark.django_db
def test_multi_take_with_per_limit_keys(limits, fake_clock):
    limits(g=fixed(10, DAY), acct=fixed(1, DAY))
    assert rate_limit_take(names=["g", ("acct", "42")]).granted
    assert not rate_limit_take(names=["g", ("acct", "42")]).granted
    assert rate_limit_take(names=["g", ("acct", "43")]).granted
    [g] = rate_limit_status(name="g")
    assert g.rules[0].used == 2
    assert g.rules[0].denials == 0
    assert {s.key for s in rate_limit_status(name="acct")} == {"42", "43"}


@pytest.mark.django_db
def test_a_limit_is_all_of_its_rules(limits, fake_clock):
    limits(t=[fixed(5000, DAY), bucket(1, 1, capacity=4)])
    assert [take().granted for _ in range(5)] == [True] * 4 + [False]
    [status] = rate_limit_status(name="t")
    assert status.rules[0].used == 4
    assert status.remaining == pytest.approx(0)


@pytest.mark.django_db
def test_exhaust_until_stops_every_taker_until_the_vendor_time(limits, fake_clock):
    limits(t=fixed(100, DAY))
    rate_limit_exhaust_until(name="t", retry_after=30)
    denied = take()
    assert not denied.granted
    assert denied.blocked
    assert denied.retry_after == pytest.approx(30)
    assert not rate_limit_check(names="t").granted
    rate_limit_exhaust_until(name="t", retry_after=5)  # never shortens
    fake_clock.advance(seconds=29)
    assert not take().granted
    fake_clock.advance(seconds=1)
    assert take().granted
    assert rate_limit_status(name="t")[0].blocked_until is None


@pytest.mark.django_db
def test_exhaust_until_is_per_key(limits, fake_clock):
    limits(acct=fixed(100, DAY))
    rate_limit_exhaust_until(name="acct", key="1", retry_after=60)
    assert not rate_limit_take(names="acct", key="1").granted
    assert rate_limit_take(names="acct", key="2").granted


@pytest.mark.django_db
def test_check_writes_nothing(limits, fake_clock):
    limits(t=fixed(1, DAY))
    assert rate_limit_check(names="t").granted
    assert not Bucket.objects.exists()
    take()
    assert not rate_limit_check(names="t").granted
    assert rate_limit_status(name="t")[0].rules[0].denials == 0


@pytest.mark.django_db
def test_reset_starts_a_limit_full(limits, fake_clock):
    limits(t=fixed(1, DAY))
    take()
    assert rate_limit_reset(name="t") == 1
    assert take().granted


@pytest.mark.django_db
def test_status_reports_used_remaining_next_reset_and_denials(limits, fake_clock):
    limits(t=fixed(10, DAY))
    take(count=7)
    take(count=5)  # denied
    [status] = rate_limit_status(name="t")
    rule = status.rules[0]
    assert (rule.used, rule.remaining, rule.denials) == (7, 3, 1)
    assert rule.next_reset == datetime(2026, 11, 21, tzinfo=UTC)
    fake_clock.current = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
    rule = rate_limit_status(name="t")[0].rules[0]
    assert (rule.used, rule.remaining, rule.denials, rule.total_denials) == (0, 10, 0, 1)


@pytest.mark.django_db
def test_unknown_limit_and_bad_count_are_refused(limits):
    limits(t=fixed(1, DAY))
    with pytest.raises(KeyError, match="no rate limit named"):
        rate_limit_take(names="nope")
    with pytest.raises(ValueError, match="positive"):
        take(count=0)


@pytest.mark.django_db(transaction=True)
def test_a_take_inside_a_transaction_rolls_back_with_it(limits, fake_clock):
    limits(t=fixed(1, DAY))

    class JobFailed(Exception):
        pass

    def job() -> None:
        with transaction.atomic():
            assert take().granted
            raise JobFailed

    with pytest.raises(JobFailed):
        job()
    assert take().granted  # the token came back with the rollback
    assert not take().granted


# --- shards --------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("shards", [1, 2, 3, 4])
def test_shards_never_exceed_the_limit_and_give_it_all(limits, fake_clock, shards):
    limits(t=fixed(50, DAY, shards=shards))
    granted = sum(take().granted for _ in range(200))
    assert granted == 50
    assert Bucket.objects.filter(name="t").count() == shards
    assert sum(Bucket.objects.filter(name="t").values_list("value", flat=True)) == 0


@pytest.mark.django_db
@pytest.mark.parametrize("shards", [2, 3, 4])
def test_sharded_take_combines_two_shards_when_neither_suffices(limits, fake_clock, shards):
    limits(t=bucket(8, MINUTE, capacity=8, shards=shards))
    granted = 0
    for _ in range(40):
        granted += take(count=3).granted * 3
    assert granted <= 8
    assert granted >= 6  # two shards together cover a take one cannot


@pytest.mark.django_db
def test_shards_split_rates_that_do_not_divide(limits, fake_clock):
    limits(t=fixed(500, DAY, shards=3))
    assert sum(take().granted for _ in range(700)) == 500
