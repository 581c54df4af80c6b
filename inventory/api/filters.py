from django import forms
from django.core.validators import RegexValidator
from django.db.models import Exists, OuterRef, Q, QuerySet
from django_filters import rest_framework as filters

from catalog.api.serializers import PART_NUMBER
from inventory.models import Condition, InventoryItem, ItemStatus, Provider, SyncState, SyncStatus

from .serializers import MAX_INT


class IntegerFilter(filters.NumberFilter):
    field_class = forms.IntegerField


class ItemFilter(filters.FilterSet):
    """Bad values are answered ``400 validation_error`` (the backend raises), never ignored."""

    part_number = filters.CharFilter(
        validators=[RegexValidator(PART_NUMBER, "Not a valid part number.")],
        help_text="Exact part number.",
    )
    color_id = IntegerFilter(min_value=0, max_value=MAX_INT)
    status = filters.ChoiceFilter(choices=ItemStatus.choices)
    condition = filters.ChoiceFilter(choices=Condition.choices)
    sync_status = filters.ChoiceFilter(
        choices=SyncStatus.choices,
        method="filter_sync_status",
        help_text="Items with at least one marketplace in this sync status. `disabled` also "
        "matches items that were never synced to some marketplace (no state yet).",
    )

    class Meta:
        model = InventoryItem
        fields = ["part_number", "color_id", "status", "condition", "sync_status"]

    def filter_sync_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        states = SyncState.objects.filter(item=OuterRef("pk"))
        matches = Q(Exists(states.filter(status=value)))
        if value == SyncStatus.DISABLED:
            for provider in Provider.values:
                matches |= ~Q(Exists(states.filter(provider=provider)))
        return queryset.filter(matches)
