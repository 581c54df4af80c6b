from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasAccount, IsOwner, account_of
from inventory import selectors, services
from inventory.catalog_checks import catalog_check
from inventory.models import InventoryHistory, InventoryItem, Provider

from . import serializers as s
from .filters import ItemFilter

DELETE_REASON = OpenApiParameter(
    "reason", str, description="Why (at most 500 characters): kept in the item's history."
)


def item_or_404(request: Request, item_id: int, *, with_sync: bool = False) -> InventoryItem:
    """The caller's live item. Another account's item, an archived one and a missing one
    are all the same 404, so ids of other accounts leak nothing."""
    account = account_of(request)
    try:
        return selectors.item_get(account=account, item_id=item_id, with_sync=with_sync)
    except InventoryItem.DoesNotExist:
        raise exceptions.NotFound() from None


def check_against_catalog(part_number: str, color_id: int) -> None:
    """400 ``validation_error`` for a part or color the catalog refuses (see
    ``inventory.catalog_checks``): its tables only, never a BrickLink call."""
    problems = catalog_check(part_number=part_number, color_id=color_id)
    if problems:
        raise serializers.ValidationError({field: [text] for field, text in problems.items()})


def item_response(request: Request, item: InventoryItem, status_code: int = 200) -> Response:
    # Read back with the sync states the service just set, as any later GET would see them.
    fresh = item_or_404(request, item.pk, with_sync=True)
    return Response(s.ItemSerializer(fresh).data, status=status_code)


class ItemListView(generics.ListAPIView):
    """The account's items, newest first."""

    permission_classes = [HasAccount]
    serializer_class = s.ItemSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ItemFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no caller
            return InventoryItem.objects.none()
        return selectors.item_list(account=account_of(self.request))

    @extend_schema(request=s.ItemCreateSerializer, responses={201: s.ItemSerializer})
    def post(self, request: Request) -> Response:
        """Add an item (any member of the account). It is synced to every enabled
        marketplace."""
        body = s.ItemCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        check_against_catalog(body.validated_data["part_number"], body.validated_data["color_id"])
        item = services.item_create(
            account=account_of(request), actor=request.user, data=body.validated_data
        )
        return item_response(request, item, status.HTTP_201_CREATED)


class ItemDetailView(APIView):
    """One item: any member reads it; only an owner changes or deletes it."""

    permission_classes = [HasAccount]

    def owned_item_or_404(self, request: Request, item_id: int) -> InventoryItem:
        """The item first, the role after: another account's item is a 404 for a member
        too (never a 403 that would answer for ids it cannot see); a member's own is 403."""
        item = item_or_404(request, item_id)
        owner = IsOwner()
        if not owner.has_permission(request, self):
            self.permission_denied(request, message=owner.message, code=owner.code)
        return item

    @extend_schema(responses={200: s.ItemSerializer})
    def get(self, request: Request, item_id: int) -> Response:
        return Response(s.ItemSerializer(item_or_404(request, item_id, with_sync=True)).data)

    @extend_schema(request=s.ItemUpdateSerializer, responses={200: s.ItemSerializer})
    def patch(self, request: Request, item_id: int) -> Response:
        """Change some fields (owner only). A change that changes nothing writes nothing."""
        item = self.owned_item_or_404(request, item_id)
        body = s.ItemUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        reason = data.pop("reason", "")
        lot = (data.get("part_number", item.part_number), data.get("color_id", item.color_id))
        if lot != (item.part_number, item.color_id):  # a new part or color is checked again
            check_against_catalog(*lot)
        try:
            item = services.item_update(item=item, actor=request.user, data=data, reason=reason)
        except InventoryItem.DoesNotExist:  # archived since we looked it up
            raise exceptions.NotFound() from None
        return item_response(request, item)

    @extend_schema(parameters=[DELETE_REASON], responses={204: None})
    def delete(self, request: Request, item_id: int) -> Response:
        """Archive the item (owner only): it leaves the list and its lots are removed from
        the marketplaces."""
        item = self.owned_item_or_404(request, item_id)
        query = s.ArchiveQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        services.item_archive(
            item=item, actor=request.user, reason=query.validated_data.get("reason", "")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ItemHistoryView(generics.ListAPIView):
    """The item's audit trail, newest first."""

    permission_classes = [HasAccount]
    serializer_class = s.HistorySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return InventoryHistory.objects.none()
        item = item_or_404(self.request, self.kwargs["item_id"])
        return selectors.item_history(item=item)


class ItemSyncView(APIView):
    permission_classes = [HasAccount]

    @extend_schema(request=None, responses={202: s.SyncQueuedSerializer})
    def post(self, request: Request, item_id: int) -> Response:
        """Sync the item to every enabled marketplace now (e.g. after ``failed``); attempts
        start over. Answers the marketplaces it is being synced to."""
        providers = services.item_sync_now(item=item_or_404(request, item_id))
        return Response({"queued": providers}, status=status.HTTP_202_ACCEPTED)


# --- marketplace connections -----------------------------------------------------------------


class ConnectionListView(APIView):
    permission_classes = [IsOwner]

    @extend_schema(responses={200: s.ConnectionSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """Every marketplace, connected or not (owner only). Credentials are never shown."""
        return Response(selectors.connection_list(account=account_of(request)))


class ConnectionView(APIView):
    """Set up or switch a marketplace connection (owner only)."""

    permission_classes = [IsOwner]
    provider: str

    def detail(self, request: Request, connection) -> Response:
        answer = selectors.connection_summary(self.provider, connection)
        path = selectors.callback_path(connection)
        answer["callback_url"] = request.build_absolute_uri(path) if path else None
        return Response(answer)

    def get(self, request: Request) -> Response:
        connection = selectors.connection_get(account=account_of(request), provider=self.provider)
        return self.detail(request, connection)

    def put(self, request: Request) -> Response:
        body = s.CONNECTION_SERIALIZERS[self.provider](data=request.data)
        body.is_valid(raise_exception=True)
        account = account_of(request)
        try:
            connection = services.connection_set(
                account=account,
                provider=self.provider,
                enabled=body.validated_data["enabled"],
                credentials=body.validated_data.get("credentials"),
            )
        except services.ConnectionInputError as exc:
            # The service's messages name keys, never values.
            raise serializers.ValidationError({"credentials": [str(exc)]}) from None
        return self.detail(request, connection)


CONNECTION_PUT_DOC = (
    "Store the credentials (encrypted; write-only) and/or switch the connection on or off. "
    "Switching it on, or changing its credentials, syncs every item of the account to it."
)


class BrickLinkConnectionView(ConnectionView):
    provider = Provider.BRICKLINK

    @extend_schema(responses={200: s.ConnectionDetailSerializer})
    def get(self, request: Request) -> Response:
        """The connection (owner only): never its credentials."""
        return super().get(request)

    @extend_schema(
        request=s.BrickLinkConnectionSerializer,
        responses={200: s.ConnectionDetailSerializer},
        description=CONNECTION_PUT_DOC,
    )
    def put(self, request: Request) -> Response:
        return super().put(request)


class BrickOwlConnectionView(ConnectionView):
    provider = Provider.BRICKOWL

    @extend_schema(responses={200: s.ConnectionDetailSerializer})
    def get(self, request: Request) -> Response:
        """The connection (owner only): never its credentials."""
        return super().get(request)

    @extend_schema(
        request=s.BrickOwlConnectionSerializer,
        responses={200: s.ConnectionDetailSerializer},
        description=CONNECTION_PUT_DOC,
    )
    def put(self, request: Request) -> Response:
        return super().put(request)
