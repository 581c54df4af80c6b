from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasAccount, account_of
from orders import hooks, selectors, services
from orders.models import Order, OrderLine

from . import serializers as s
from .filters import OrderFilter


class OrderListView(generics.ListAPIView):
    """The account's orders from every connected store, newest first."""

    permission_classes = [HasAccount]
    serializer_class = s.OrderSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = OrderFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no caller
            return Order.objects.none()
        return selectors.order_list(account=account_of(self.request))


class OrderDetailView(APIView):
    permission_classes = [HasAccount]

    @extend_schema(responses={200: s.OrderSerializer})
    def get(self, request: Request, order_id: int) -> Response:
        try:
            order = selectors.order_get(account=account_of(request), order_id=order_id)
        except Order.DoesNotExist:
            raise exceptions.NotFound() from None
        return Response(s.OrderSerializer(order).data)


class OrdersSyncView(APIView):
    permission_classes = [HasAccount]

    @extend_schema(request=None, responses={202: s.OrdersQueuedSerializer})
    def post(self, request: Request) -> Response:
        """Fetch new and changed orders from every enabled store now."""
        queued = services.orders_sync_now(account=account_of(request))
        return Response({"queued": queued}, status=status.HTTP_202_ACCEPTED)


class PickView(APIView):
    permission_classes = [HasAccount]

    @extend_schema(request=s.PickSerializer, responses={200: s.OrderLineSerializer})
    def post(self, request: Request, order_id: int, line_id: int) -> Response:
        """Mark a line picked (or issue, skipped, unpicked). Picking moves no stock."""
        body = s.PickSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            line = services.line_pick(
                account=account_of(request),
                order_id=order_id,
                line_id=line_id,
                pick_status=body.validated_data["pick_status"],
            )
        except OrderLine.DoesNotExist:
            raise exceptions.NotFound() from None
        return Response(s.OrderLineSerializer(line).data)


class PicklistView(generics.ListAPIView):
    """The lines still to pick from open orders, sorted by the item's location."""

    permission_classes = [HasAccount]
    serializer_class = s.PicklistLineSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return OrderLine.objects.none()
        return selectors.picklist(account=account_of(self.request))


class BrickLinkHookView(APIView):
    """BrickLink's push (registered as the store's callback URL): any POST, body or none, means
    "read the notifications now". No authentication: the secret in the path is the key."""

    permission_classes = [AllowAny]
    authentication_classes = []
    # BrickLink pushes for every seller from a few addresses: a push only marks a feed due.
    throttle_classes = []

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, secret: str) -> Response:
        if not hooks.bricklink_pushed(secret=secret):
            raise exceptions.NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)


class BrickOwlHookView(APIView):
    """BrickOwl's order notification (relayed to this URL): fetch that order now."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []

    @extend_schema(request=None, responses={204: None})
    def get(self, request: Request, secret: str) -> Response:
        order_id = request.query_params.get("order_id", "")
        if not hooks.brickowl_pushed(secret=secret, order_id=order_id):
            raise exceptions.NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)
