"""Changing a kind of work's policy (outbox/policy.py) for one test."""

import copy


def set_policy(settings, kind: str, **values) -> None:
    """``set_policy(settings, "refresh", max_attempts=3)``: the pytest-django ``settings``
    fixture puts the old policies back after the test."""
    policies = copy.deepcopy(settings.OUTBOX_POLICIES)
    policies[kind].update(values)
    settings.OUTBOX_POLICIES = policies
