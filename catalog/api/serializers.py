import re

from rest_framework import serializers

from catalog.models import Kind

PART_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
MAX_BULK_ITEMS = 500
# PostgreSQL's ``integer``: a larger color id would be a database error (a 500), not a 400.
MAX_COLOR_ID = 2_147_483_647


def color_id_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=0, max_value=MAX_COLOR_ID, **kwargs)


def valid_part_number(value: str) -> bool:
    return bool(PART_NUMBER.match(value))


class PartNumberField(serializers.CharField):
    default_error_messages = {
        "invalid_part_number": "A part number is 1-40 letters, digits, '.', '_' or '-', "
        "starting with a letter or digit."
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not valid_part_number(value):
            self.fail("invalid_part_number")
        return value


class ReadQuerySerializer(serializers.Serializer):
    wait = serializers.FloatField(
        required=False,
        min_value=0.001,
        max_value=10,
        help_text="Hold the answer until this resource's refresh finishes, at most N seconds "
        "(0 < N <= 10).",
    )


class PriceGuideQuerySerializer(ReadQuerySerializer):
    color_id = color_id_field()


class ColorIdSerializer(serializers.Serializer):
    color_id = color_id_field()


class LastErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    at = serializers.DateTimeField()


class EnvelopeSerializer(serializers.Serializer):
    """The status envelope every catalog read answers."""

    status = serializers.ChoiceField(["fresh", "stale", "expired", "refreshing", "missing"])
    freshness = serializers.ChoiceField(["fresh", "stale", "expired"], allow_null=True)
    is_refreshing = serializers.BooleanField()
    last_fetched = serializers.DateTimeField(allow_null=True)
    data = serializers.JSONField(allow_null=True)
    last_error = LastErrorSerializer(allow_null=True)


class PartDataSerializer(serializers.Serializer):
    no = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    category_id = serializers.IntegerField(allow_null=True)
    category_name = serializers.CharField(allow_null=True)
    image_url = serializers.CharField()
    thumbnail_url = serializers.CharField()
    weight_g = serializers.DecimalField(max_digits=12, decimal_places=3, allow_null=True)
    dim_x = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    dim_y = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    dim_z = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    year_released = serializers.IntegerField(allow_null=True)
    is_obsolete = serializers.BooleanField()
    is_printed = serializers.BooleanField()
    alternate_no = serializers.CharField()
    description = serializers.CharField()


class PartEnvelopeSerializer(EnvelopeSerializer):
    data = PartDataSerializer(allow_null=True)


class KnownColorSerializer(serializers.Serializer):
    color_id = serializers.IntegerField()
    color_name = serializers.CharField(allow_null=True)
    color_code = serializers.CharField(allow_null=True)
    quantity = serializers.IntegerField()


class PartColorsEnvelopeSerializer(EnvelopeSerializer):
    data = KnownColorSerializer(many=True, allow_null=True)


class PriceSerializer(serializers.Serializer):
    min_price = serializers.DecimalField(max_digits=14, decimal_places=4)
    max_price = serializers.DecimalField(max_digits=14, decimal_places=4)
    avg_price = serializers.DecimalField(max_digits=14, decimal_places=4)
    qty_avg_price = serializers.DecimalField(max_digits=14, decimal_places=4)
    unit_quantity = serializers.IntegerField()
    total_quantity = serializers.IntegerField()


class StockSoldSerializer(serializers.Serializer):
    stock = PriceSerializer()
    sold = PriceSerializer()


class PriceGuideDataSerializer(serializers.Serializer):
    color_id = serializers.IntegerField()
    currency_code = serializers.CharField()
    new = StockSoldSerializer()
    used = StockSoldSerializer()


class PriceGuideEnvelopeSerializer(EnvelopeSerializer):
    data = PriceGuideDataSerializer(allow_null=True)


class RefreshQueuedSerializer(serializers.Serializer):
    queued = serializers.BooleanField()
    outbox_id = serializers.IntegerField()
    status = serializers.ChoiceField(["pending", "inflight"])


class BulkItemSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(Kind.values)
    no = PartNumberField()
    color_id = color_id_field(required=False, allow_null=True)

    def validate(self, attrs):
        if attrs["kind"] == Kind.PRICE_GUIDE and attrs.get("color_id") is None:
            raise serializers.ValidationError({"color_id": "A price guide needs a color_id."})
        if attrs["kind"] != Kind.PRICE_GUIDE:
            attrs["color_id"] = None
        return attrs


class BulkRefreshSerializer(serializers.Serializer):
    items = BulkItemSerializer(many=True, allow_empty=False, max_length=MAX_BULK_ITEMS)


class BulkQueuedSerializer(serializers.Serializer):
    queued = serializers.IntegerField()
    already_queued = serializers.IntegerField()


class ColorSerializer(serializers.Serializer):
    color_id = serializers.IntegerField()
    color_name = serializers.CharField(source="name")
    color_code = serializers.CharField(source="code")
    color_type = serializers.CharField(source="type")


class CategorySerializer(serializers.Serializer):
    category_id = serializers.IntegerField()
    category_name = serializers.CharField(source="name")
    parent_id = serializers.IntegerField()
