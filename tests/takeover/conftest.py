"""The takeover tests use the inventory tests' store (an account on both sandbox stores)."""

import pytest

from tests.inventory.conftest import no_publishing, store  # noqa: F401

pytest.register_assert_rewrite("tests.takeover.helpers")
