from rest_framework import serializers

from orders.models import LineEffect, Order, OrderLine, OrderState, PickStatus


class OrderLineSerializer(serializers.ModelSerializer):
    item_id = serializers.IntegerField(allow_null=True, read_only=True)
    location = serializers.SerializerMethodField()
    effect = serializers.ChoiceField(LineEffect.choices, read_only=True)
    pick_status = serializers.ChoiceField(PickStatus.choices, read_only=True)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=4, read_only=True)

    class Meta:
        model = OrderLine
        fields = [
            "id",
            "lot_id",
            "part_number",
            "color_id",
            "condition",
            "quantity",
            "unit_price",
            "item_id",
            "effect",
            "oversold_quantity",
            "pick_status",
            "location",
        ]
        read_only_fields = fields

    def get_location(self, line: OrderLine) -> str:
        return line.item.location if line.item_id and line.item else ""


class OrderSerializer(serializers.ModelSerializer):
    state = serializers.ChoiceField(OrderState.choices, read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)
    packed = serializers.SerializerMethodField(
        help_text="every line picked (or marked issue or skipped)"
    )
    history = serializers.BooleanField(
        read_only=True,
        help_text="placed before this store's orders were followed: it moved no stock",
    )

    class Meta:
        model = Order
        fields = [
            "id",
            "provider",
            "external_id",
            "status",
            "state",
            "buyer_name",
            "placed_at",
            "status_changed_at",
            "needs_attention",
            "packed",
            "history",
            "lines",
        ]
        read_only_fields = fields

    def get_packed(self, order: Order) -> bool:
        return not getattr(order, "has_unpicked", True)


class PickSerializer(serializers.Serializer):
    pick_status = serializers.ChoiceField(PickStatus.choices)


class PicklistLineSerializer(OrderLineSerializer):
    order_id = serializers.IntegerField(read_only=True)
    order_external_id = serializers.CharField(source="order.external_id", read_only=True)
    provider = serializers.CharField(source="order.provider", read_only=True)

    class Meta(OrderLineSerializer.Meta):
        fields = [*OrderLineSerializer.Meta.fields, "order_id", "order_external_id", "provider"]
        read_only_fields = fields


class OrdersQueuedSerializer(serializers.Serializer):
    queued = serializers.IntegerField(help_text="stores whose orders are being fetched")
