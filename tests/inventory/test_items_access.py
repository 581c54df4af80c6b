"""The item API's tenancy and permissions: another account's or an archived item is 404,
members may read but not change, and everything needs an authenticated account member."""

import pytest

from inventory import services
from inventory.models import InventoryItem
from tests.factories import (
    UserFactory,
)
from tests.inventory.item_helpers import (
    ITEMS,
    VALID,
    error_of,
    ids_of,
    snapshot,
    url,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("published")]


def test_another_accounts_item_is_404_everywhere(owner_client, item, other_item):
    before = snapshot(other_item)
    for response in [
        owner_client.get(url(other_item.id)),
        owner_client.patch(url(other_item.id), {"quantity_available": 0}),
        owner_client.patch(url(other_item.id), {"quantity_available": -1}),  # 404 before 400
        owner_client.delete(url(other_item.id)),
        owner_client.get(url(other_item.id, "history/")),
        owner_client.post(url(other_item.id, "sync/")),
    ]:
        error_of(response, 404, "not_found")
    assert snapshot(other_item) == before
    assert ids_of(owner_client) == {item.id}
    assert other_item.id not in ids_of(owner_client, part_number=other_item.part_number)
    assert other_item.id not in ids_of(owner_client, sync_status="disabled")


def test_an_archived_item_is_404_everywhere(owner_client, owner, item):
    services.item_archive(item=item, actor=owner)
    for response in [
        owner_client.get(url(item.id)),
        owner_client.patch(url(item.id), {"quantity_available": 0}),
        owner_client.delete(url(item.id)),
        owner_client.get(url(item.id, "history/")),
        owner_client.post(url(item.id, "sync/")),
    ]:
        error_of(response, 404, "not_found")
    assert ids_of(owner_client) == set()


@pytest.mark.parametrize("item_id", [0, 123456789, 99999999999999999999])
def test_a_missing_item_is_404(owner_client, item_id):
    error_of(owner_client.get(url(item_id)), 404, "not_found")
    error_of(owner_client.post(url(item_id, "sync/")), 404, "not_found")


def test_a_member_may_not_change_or_delete(member_client, item, bricklink_on):
    before = snapshot(item)
    error_of(member_client.patch(url(item.id), {"quantity_available": 1}), 403, "permission_denied")
    error_of(member_client.delete(url(item.id)), 403, "permission_denied")
    assert snapshot(item) == before
    assert member_client.get(url(item.id)).status_code == 200
    assert member_client.get(url(item.id, "history/")).status_code == 200
    assert member_client.post(url(item.id, "sync/")).status_code == 202


def test_a_members_change_of_another_accounts_item_is_404_not_403(member_client, other_item):
    """The contract: another account's object is 404, never 403 -- for a member too, whose
    own items answer 403 to the same request."""
    before = snapshot(other_item)
    error_of(member_client.patch(url(other_item.id), {"quantity_available": 1}), 404, "not_found")
    error_of(member_client.delete(url(other_item.id)), 404, "not_found")
    error_of(member_client.patch(url(123456789), {"quantity_available": 1}), 404, "not_found")
    assert snapshot(other_item) == before


def test_inventory_needs_authentication(api_client, item):
    for response in [
        api_client.get(ITEMS),
        api_client.post(ITEMS, VALID),
        api_client.get(url(item.id)),
        api_client.patch(url(item.id), {"quantity_available": 1}),
        api_client.delete(url(item.id)),
        api_client.get(url(item.id, "history/")),
        api_client.post(url(item.id, "sync/")),
    ]:
        error_of(response, 401, "not_authenticated")
    assert InventoryItem.objects.count() == 1


def test_inventory_needs_an_account(client_for, item):
    staff = client_for(UserFactory(is_staff=True))  # a user outside any business account
    error_of(staff.get(ITEMS), 403, "permission_denied")
    error_of(staff.post(ITEMS, VALID), 403, "permission_denied")
    error_of(staff.get(url(item.id)), 403, "permission_denied")
