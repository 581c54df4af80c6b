"""The outbox is tested on the inventory's sync states: its fixtures serve here too."""

from tests.inventory.conftest import no_publishing, store  # noqa: F401 - fixtures
