from django_filters import rest_framework as filters

from inventory.models import Provider
from orders.models import Order, OrderState


class OrderFilter(filters.FilterSet):
    provider = filters.ChoiceFilter(choices=Provider.choices)
    state = filters.ChoiceFilter(choices=OrderState.choices)
    needs_attention = filters.BooleanFilter()

    class Meta:
        model = Order
        fields = ["provider", "state", "needs_attention"]
