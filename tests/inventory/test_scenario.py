"""The scenario helpers' own checks must be able to fail."""

from tests.inventory.scenario import duplicate_creates


def entry(provider: str, op: str, lot_id, **fields) -> dict:
    return {"provider": provider, "op": op, "lot_id": lot_id, "fields": fields}


def test_duplicate_creates_counts_a_second_live_lot_of_an_item_not_a_recreate():
    ledger = [
        entry("bricklink", "create", 1, remarks="A1 [brickops:7]"),
        entry("bricklink", "delete", 1),
        entry("bricklink", "create", 2, remarks="[brickops:7]"),  # sold out, then back: fine
        entry("bricklink", "update", 2, quantity=3),
        entry("bricklink", "create", 3, remarks="[brickops:7]"),  # while lot 2 lives: twice
        entry("bricklink", "create", 4, remarks="the seller's own lot"),
        entry("brickowl", "create", "10", external_id="brickops-7"),
        entry("brickowl", "create", "11", external_id="brickops-8"),
    ]
    assert duplicate_creates(ledger) == {"bricklink": 1, "brickowl": 0}
    ledger.append(entry("brickowl", "create", "12", external_id="brickops-8"))
    assert duplicate_creates(ledger) == {"bricklink": 1, "brickowl": 1}
