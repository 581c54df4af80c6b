"""Store takeover (owner only): start one, read its report."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasAccount, IsOwner, account_of
from core.errors import ApiError
from takeover.models import StoreImport
from takeover.services import TakeoverRefused, import_begin

from . import serializers as s


class StoreImportStartView(APIView):
    permission_classes = [IsOwner]

    @extend_schema(
        request=s.StoreImportRequestSerializer, responses={202: s.StoreImportQueuedSerializer}
    )
    def post(self, request: Request, provider: str) -> Response:
        """Take over the seller's existing store: every lot linked to an item (an existing one
        with the same part, color and condition, else a new one). No lot is created and no
        quantity changed on the marketplace. ``409 import_running`` (with ``import_id`` in
        the details) while an import of this store runs; ``409 marketplace_not_configured``
        without a connection with credentials; ``404 unknown_marketplace``."""
        body = s.StoreImportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            store_import = import_begin(
                account=account_of(request),
                provider=provider,
                dry_run=body.validated_data["dry_run"],
                actor=request.user,
            )
        except TakeoverRefused as exc:
            details = {"import_id": exc.running.pk} if exc.running else {}
            raise ApiError(
                str(exc), code=exc.code, status_code=exc.status, details=details
            ) from None
        return Response({"import_id": store_import.pk}, status=status.HTTP_202_ACCEPTED)


class StoreImportView(APIView):
    permission_classes = [HasAccount]

    @extend_schema(responses={200: s.StoreImportSerializer})
    def get(self, request: Request, import_id: int) -> Response:
        """A store import's report: running, done or failed (owner only). The import first,
        the role after: another account's import is a 404 for a member too, never a 403 that
        would answer for ids it cannot see."""
        store_import = StoreImport.objects.filter(pk=import_id, account=account_of(request)).first()
        if store_import is None:
            raise exceptions.NotFound()
        owner = IsOwner()
        if not owner.has_permission(request, self):
            self.permission_denied(request, message=owner.message, code=owner.code)
        return Response(s.StoreImportSerializer(store_import).data)
