from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors
from catalog.domain import Resource
from catalog.models import Kind, Priority
from catalog.services import PartNotFound, catalog_read, refresh_enqueue, refresh_enqueue_many
from core import clock
from core.errors import ApiError

from . import serializers as s

NOT_FOUND = "part_not_found"
WAIT = OpenApiParameter(
    "wait",
    float,
    description="Hold the answer up to N seconds (0 < N <= 10) until the "
    "refresh of this resource finishes.",
)


def checked_part_number(no: str) -> str:
    if not s.valid_part_number(no):
        raise ApiError(
            "A part number is 1-40 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit.",
            code="invalid_part_number",
            details={"no": no[:100]},
        )
    return no


def checked_color(no: str, color_id: int) -> int:
    """A price guide of a color the part is known not to come in (its known colors are
    fresh, and this is not one of them) would cost four calls for nothing: refused."""
    known = selectors.part_fresh_colors([no], clock.now()).get(no)
    if known and color_id not in known:
        raise ApiError(
            f"Part {no} is not known in color {color_id}.",
            code="color_not_known_for_part",
            details={"color_id": [f"Part {no} is known in colors {sorted(known)[:50]}."]},
        )
    return color_id


def read(resource: Resource, wait: float | None) -> Response:
    try:
        envelope = catalog_read(resource=resource, wait=wait or 0.0)
    except PartNotFound:
        raise ApiError(
            f"BrickLink has no part {resource.no!r}.", code=NOT_FOUND, status_code=404
        ) from None
    return Response(envelope)


def queued(resource: Resource) -> Response:
    result = refresh_enqueue(resource=resource, priority=Priority.HIGH)
    return Response(
        {"queued": result.created, "outbox_id": result.job_id, "status": result.status},
        status=status.HTTP_202_ACCEPTED,
    )


class PartView(APIView):
    @extend_schema(parameters=[WAIT], responses={200: s.PartEnvelopeSerializer})
    def get(self, request: Request, no: str) -> Response:
        """A part's details, with their freshness. Missing or expired data is refreshed now."""
        query = s.ReadQuerySerializer(data=request.query_params)
        no = checked_part_number(no)
        query.is_valid(raise_exception=True)
        return read(Resource(Kind.PART, no), query.validated_data.get("wait"))


class PartColorsView(APIView):
    @extend_schema(parameters=[WAIT], responses={200: s.PartColorsEnvelopeSerializer})
    def get(self, request: Request, no: str) -> Response:
        """The colors a part is known in, with BrickLink's known-colors quantity."""
        query = s.ReadQuerySerializer(data=request.query_params)
        no = checked_part_number(no)
        query.is_valid(raise_exception=True)
        return read(Resource(Kind.PART_COLORS, no), query.validated_data.get("wait"))


class PriceGuideView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("color_id", int, required=True), WAIT],
        responses={200: s.PriceGuideEnvelopeSerializer},
    )
    def get(self, request: Request, no: str) -> Response:
        """The four price guides of a part in one color (new/used x stock/sold). A color the
        part is known not to come in (its known colors are fresh) is a ``400``
        ``color_not_known_for_part``."""
        no = checked_part_number(no)
        query = s.PriceGuideQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        color_id = checked_color(no, query.validated_data["color_id"])
        return read(Resource(Kind.PRICE_GUIDE, no, color_id), query.validated_data.get("wait"))


class PartRefreshView(APIView):
    @extend_schema(request=None, responses={202: s.RefreshQueuedSerializer})
    def post(self, request: Request, no: str) -> Response:
        """Refresh a part's details now (also re-checks a part BrickLink said is missing)."""
        return queued(Resource(Kind.PART, checked_part_number(no)))


class PartColorsRefreshView(APIView):
    @extend_schema(request=None, responses={202: s.RefreshQueuedSerializer})
    def post(self, request: Request, no: str) -> Response:
        return queued(Resource(Kind.PART_COLORS, checked_part_number(no)))


class PriceGuideRefreshView(APIView):
    @extend_schema(request=s.ColorIdSerializer, responses={202: s.RefreshQueuedSerializer})
    def post(self, request: Request, no: str) -> Response:
        no = checked_part_number(no)
        body = s.ColorIdSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        color_id = checked_color(no, body.validated_data["color_id"])
        return queued(Resource(Kind.PRICE_GUIDE, no, color_id))


class BulkRefreshView(APIView):
    @extend_schema(request=s.BulkRefreshSerializer, responses={202: s.BulkQueuedSerializer})
    def post(self, request: Request) -> Response:
        """Refresh up to 500 resources at HIGH priority. One invalid item rejects the whole
        request and queues nothing."""
        body = s.BulkRefreshSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        resources = [
            Resource(item["kind"], item["no"], item["color_id"])
            for item in body.validated_data["items"]
        ]
        guides = [(i, r) for i, r in enumerate(resources) if r.kind == Kind.PRICE_GUIDE]
        known = selectors.part_fresh_colors({r.no for _, r in guides}, clock.now())
        refused = [
            {"index": i, "color_id": f"Part {r.no} is not known in color {r.color_id}."}
            for i, r in guides
            if known.get(r.no) and r.color_id not in known[r.no]
        ]
        if refused:
            raise ApiError(
                f"{len(refused)} price guide(s) of a color the part is known not to come in.",
                code="color_not_known_for_part",
                details={"items": refused[:100]},
            )
        created, existing = refresh_enqueue_many(resources=resources, priority=Priority.HIGH)
        return Response(
            {"queued": len(created), "already_queued": len(existing)},
            status=status.HTTP_202_ACCEPTED,
        )


class ColorListView(generics.ListAPIView):
    """BrickLink's colors."""

    serializer_class = s.ColorSerializer

    def get_queryset(self):
        return selectors.colors_list()


class CategoryListView(generics.ListAPIView):
    """BrickLink's categories."""

    serializer_class = s.CategorySerializer

    def get_queryset(self):
        return selectors.categories_list()
