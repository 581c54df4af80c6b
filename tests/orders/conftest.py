"""Orders are tested on the inventory's stores: its fixtures serve here too."""

from tests.inventory.conftest import no_publishing, store  # noqa: F401 - fixtures
