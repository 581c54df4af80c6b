"""Seller's lots put in the sandbox stores behind the API's back, and a takeover run here."""

from takeover.models import StoreImport
from takeover.services import import_begin, import_execute
from tests.harness import SandboxProcess

BL_KEY = SandboxProcess.BRICKLINK_CREDENTIALS["consumer_key"]
BO_KEY = SandboxProcess.BRICKOWL_KEY


def seller_bricklink_lot(sandbox, part="3001", color=11, condition="N", quantity=7, **extra):
    lot = {
        "item": {"no": part, "type": "PART"},
        "color_id": color,
        "quantity": quantity,
        "new_or_used": condition,
        "unit_price": "0.2000",
        "description": "Like new",
        "remarks": "Bin A1",
        **extra,
    }
    made = sandbox.inventory_change(provider="bricklink", account=BL_KEY, op="create", lot=lot)
    return made["lot"]


def seller_brickowl_lot(sandbox, boid, color, condition="usedg", quantity=4, **extra):
    lot = {
        "boid": boid,
        "color_id": color,
        "quantity": quantity,
        "price": "0.150",
        "condition": condition,
        "public_note": "Some play wear",
        "personal_note": "Drawer B2",
        **extra,
    }
    made = sandbox.inventory_change(provider="brickowl", account=BO_KEY, op="create", lot=lot)
    return made["lot"]


def take_over(account, provider, dry_run=False) -> StoreImport:
    """A takeover run here, as the command runs it."""
    store_import = import_begin(
        account=account, provider=provider, dry_run=dry_run, actor=None, publish=False
    )
    return import_execute(store_import)
