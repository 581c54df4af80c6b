from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from catalog.api.serializers import PartNumberField
from inventory.api import schema  # noqa: F401 - registers the OpenAPI enum names
from inventory.models import (
    ChangeType,
    Condition,
    InventoryHistory,
    InventoryItem,
    ItemStatus,
    Provider,
    SyncState,
    SyncStatus,
)
from inventory.services import ITEM_FIELDS

# PostgreSQL's ``integer``: anything bigger would be a database error, not a 400.
MAX_INT = 2_147_483_647
MAX_NAME = 500
MAX_LOCATION = 200
MAX_NOTES = 2000
MAX_REASON = 500
MAX_CREDENTIAL = 1000


def no_surrogates(value: str) -> None:
    """JSON may carry lone surrogates (``"\\ud800"``); they cannot be stored as UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise serializers.ValidationError(
            "Text must be valid Unicode.", code="invalid_unicode"
        ) from None


class TextField(serializers.CharField):
    """A string that PostgreSQL can store: no NUL (DRF's own check), no lone surrogates."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(no_surrogates)


class JsonIntegerField(serializers.IntegerField):
    """A JSON integer and nothing else: ``true``, ``1.5``, ``1.0`` and ``"3"`` are refused."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class JsonBooleanField(serializers.BooleanField):
    """``true`` or ``false``; not ``"yes"``, ``1`` or ``"true"``."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class PriceField(serializers.DecimalField):
    """Money: a decimal >= 0 with at most 4 places, given as a string (``"0.125"``) or a JSON
    number, always answered as a string with 4 places (``"0.1250"``)."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=12, decimal_places=4, min_value=Decimal(0), **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        value = super().to_internal_value(data)
        return value if value else Decimal(0)  # "-0" is stored and answered as 0


class NamedChoiceField(serializers.ChoiceField):
    """A choice field whose enum has a fixed name in the OpenAPI schema (see ``schema.py``)."""

    def __init__(self, choices, *, enum_name: str, **kwargs):
        self.enum_name = enum_name
        super().__init__(choices, **kwargs)


def item_status(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(ItemStatus.choices, enum_name="ItemStatusEnum", **kwargs)


def provider_field(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(Provider.choices, enum_name="ProviderEnum", **kwargs)


def quantity(**kwargs) -> JsonIntegerField:
    return JsonIntegerField(min_value=0, max_value=MAX_INT, **kwargs)


# --- items: writes ---------------------------------------------------------------------------


class ItemCreateSerializer(serializers.Serializer):
    """A new lot. Fields the API owns (``id``, ``sync``, timestamps...) are ignored if sent."""

    part_number = PartNumberField()
    color_id = JsonIntegerField(min_value=0, max_value=MAX_INT)
    name = TextField(
        max_length=MAX_NAME,
        allow_blank=True,
        default="",
        help_text="Empty: the catalog's name of the part, filled in as soon as the catalog has "
        "it. A name that is the catalog's follows it (a new part, a renamed part); any other "
        "name is kept.",
    )
    condition = serializers.ChoiceField(Condition.choices)
    quantity_available = quantity(default=0)
    quantity_reserved = quantity(default=0)
    quantity_sold = quantity(default=0)
    status = item_status(default=ItemStatus.AVAILABLE)
    location = TextField(max_length=MAX_LOCATION, allow_blank=True, default="")
    price = PriceField(default=Decimal(0))
    notes = TextField(max_length=MAX_NOTES, allow_blank=True, default="", trim_whitespace=False)


class ItemUpdateSerializer(ItemCreateSerializer):
    """Any subset of the item's fields, and why. Fields not sent keep their value."""

    reason = TextField(
        max_length=MAX_REASON,
        allow_blank=True,
        required=False,
        write_only=True,
        help_text="Why: kept in the item's history, not on the item.",
    )

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():  # nothing is required and nothing has a default
            field.required, field.default = False, empty
        return fields


class ArchiveQuerySerializer(serializers.Serializer):
    reason = TextField(max_length=MAX_REASON, allow_blank=True, required=False)


# --- items: reads ----------------------------------------------------------------------------


class SyncErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    at = serializers.CharField(allow_null=True, help_text="ISO 8601, UTC")


class SyncStateSerializer(serializers.Serializer):
    status = NamedChoiceField(SyncStatus.choices, enum_name="SyncStatusEnum")
    lot_id = serializers.CharField(allow_null=True, help_text="The marketplace's lot id.")
    last_error = SyncErrorSerializer(allow_null=True)
    synced_at = serializers.DateTimeField(allow_null=True)


class ItemSyncSerializer(serializers.Serializer):
    bricklink = SyncStateSerializer()
    brickowl = SyncStateSerializer()


NOT_SYNCED = {"status": SyncStatus.DISABLED.value, "lot_id": None, "last_error": None}


def sync_state_data(state: SyncState | None) -> dict:
    """A provider's state as the API shows it; no row means the item never went there."""
    if state is None:
        return {**NOT_SYNCED, "synced_at": None}
    error = state.last_error if isinstance(state.last_error, dict) else None
    return {
        "status": state.status,
        "lot_id": str(state.lot_id) if state.lot_id else None,
        "last_error": (
            {
                "code": str(error.get("code") or ""),
                "message": str(error.get("message") or ""),
                "at": error.get("at"),
            }
            if error
            else None
        ),
        "synced_at": serializers.DateTimeField().to_representation(state.synced_at)
        if state.synced_at
        else None,
    }


class ItemSerializer(serializers.ModelSerializer):
    status = item_status(read_only=True)
    price = PriceField(read_only=True)
    sync = serializers.SerializerMethodField()

    class Meta:
        model = InventoryItem
        fields = ["id", *ITEM_FIELDS, "created_at", "updated_at", "sync"]
        read_only_fields = fields

    @extend_schema_field(ItemSyncSerializer)
    def get_sync(self, item: InventoryItem) -> dict:
        # .all() reads the prefetched states: no query per item.
        states = {state.provider: state for state in item.sync_states.all()}
        return {provider: sync_state_data(states.get(provider)) for provider in Provider.values}


class HistorySerializer(serializers.ModelSerializer):
    change_type = serializers.ChoiceField(ChangeType.choices)
    from_status = serializers.SerializerMethodField(
        help_text="The item's status before the change; null for a create."
    )
    to_status = serializers.SerializerMethodField(
        help_text="The item's status after the change; null for a delete."
    )
    changes = serializers.DictField(
        child=serializers.ListField(child=serializers.JSONField(), min_length=2, max_length=2),
        help_text="field: [before, after] for every field the change touched.",
    )
    actor = serializers.SerializerMethodField(help_text="Who made the change (a username).")

    class Meta:
        model = InventoryHistory
        fields = [
            "id",
            "change_type",
            "quantity_available_delta",
            "quantity_reserved_delta",
            "quantity_sold_delta",
            "from_status",
            "to_status",
            "changes",
            "actor",
            "reason",
            "created_at",
        ]
        read_only_fields = fields

    def get_from_status(self, row: InventoryHistory) -> str | None:
        return row.from_status or None

    def get_to_status(self, row: InventoryHistory) -> str | None:
        return row.to_status or None

    def get_actor(self, row: InventoryHistory) -> str | None:
        return row.actor.get_username() if row.actor else None


class SyncQueuedSerializer(serializers.Serializer):
    queued = serializers.ListField(
        child=provider_field(),
        help_text="The marketplaces the item is being synced to now (the enabled ones).",
    )


# --- marketplace connections -----------------------------------------------------------------


def credential(**kwargs) -> TextField:
    return TextField(max_length=MAX_CREDENTIAL, write_only=True, **kwargs)


class BrickLinkCredentialsSerializer(serializers.Serializer):
    consumer_key = credential()
    consumer_secret = credential()
    token_value = credential()
    token_secret = credential()


class BrickOwlCredentialsSerializer(serializers.Serializer):
    api_key = credential()


CREDENTIALS_HELP = (
    "Write-only: never answered. Omit it (or send null) to keep the stored credentials, "
    "e.g. to switch the connection on or off."
)


class BrickLinkConnectionSerializer(serializers.Serializer):
    enabled = JsonBooleanField()
    credentials = BrickLinkCredentialsSerializer(
        required=False, allow_null=True, write_only=True, help_text=CREDENTIALS_HELP
    )


class BrickOwlConnectionSerializer(serializers.Serializer):
    enabled = JsonBooleanField()
    credentials = BrickOwlCredentialsSerializer(
        required=False, allow_null=True, write_only=True, help_text=CREDENTIALS_HELP
    )


CONNECTION_SERIALIZERS = {
    Provider.BRICKLINK: BrickLinkConnectionSerializer,
    Provider.BRICKOWL: BrickOwlConnectionSerializer,
}


class ConnectionSerializer(serializers.Serializer):
    provider = provider_field()
    enabled = serializers.BooleanField()
    configured = serializers.BooleanField(help_text="Credentials are stored.")


class ConnectionDetailSerializer(ConnectionSerializer):
    callback_url = serializers.CharField(
        allow_null=True,
        help_text="Where this store's pushes go: register it as the BrickLink API callback "
        "URL, or relay BrickOwl's order notification to it (with ?order_id=). Null until the "
        "store is connected. It carries a secret: keep it private.",
    )
