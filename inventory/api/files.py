"""Inventory files (owner only): import a file of lots, export the items to a file.

Thin: the formats, the checks and the writes are ``inventory/files/``'s.
"""

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsOwner, account_of
from core import clock
from core.errors import ApiError
from core.parsers import JSONParser
from inventory.files import base, exporter, importer

from .serializers import NamedChoiceField

# The multipart envelope around the file: boundaries, part headers, ``mode``, ``dry_run``.
MULTIPART_SLACK = 64 * 1024
MAX_MB = base.MAX_BYTES // (1024 * 1024)

IMPORT_DOC = f"""Import a file of lots into the account (owner only).

The format is told by the content: a BrickLink XML inventory (`<INVENTORY>`), a BrickStore
`.bsx` file (`<BrickStoreXML>`), or the CSV the export writes (a header naming `part_number`,
`color_id`, `condition`, `quantity_available`, and optionally `price`, `location`, `notes`,
`name`). BrickLink's `ITEMID`, `COLOR`, `CONDITION` (N/U), `QTY`, `PRICE`, `DESCRIPTION`
(notes) and `REMARKS` (location) are read; BrickStore's `ItemID`, `ColorID`, `Condition`,
`Qty`, `Price`, `Comments`, `Remarks` and `ItemName`; other tags are read past. Only parts
(item type `P`, or none) can be imported.

**Modes.** `add`: every lot is a new item. `merge` (the default): a lot is matched to the
account's live item with the same `part_number`, `color_id` and `condition` (the oldest, if
several); without a match it is a new item (and later lots of the file with the same part,
color and condition merge into it). On a match the lot's quantity is **added** to the item's
`quantity_available`, and the price, notes and location the lot gives **replace** the item's;
what the lot does not give is kept. A merge never changes the name, status, reserved or sold
quantities.

**Report.** Every valid lot is counted once: `created`, `updated` (it changed an item), or
`unchanged` (it matched an item and changed nothing). `errors` names each invalid lot by
`index` (its position among the file's lots, from 0) with every problem it has.

**All or nothing.** Every lot is checked before any is written, and all are written in one
transaction. With `dry_run=true` the answer is the report (invalid lots included) and nothing
is written. Otherwise any invalid lot answers `400 validation_error` whose `details` is the
same report, and nothing is written. Written items get history `change_type` `import` and are
synced to the enabled marketplaces after commit.

**Refused files.** More than {base.MAX_LOTS:,} lots, or a file over {MAX_MB} MB: `413
request_too_large`. XML that is not well-formed, or that declares a DTD or entities (never
expanded or fetched): `400 parse_error`. Not one of the formats: `400 validation_error` on
`file`."""

EXPORT_DOC = """Every live item of the account as a file (owner only), streamed: a BrickLink XML
inventory (`bricklink_xml`, the default), a BrickStore file (`bsx`) or CSV (`csv`), each
importable again. All carry the part, color, condition, available quantity, price, notes
(BrickLink `DESCRIPTION`) and location (BrickLink `REMARKS`); `bsx` and `csv` the name too."""


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text=f"A BrickLink XML inventory, a BrickStore .bsx file, or CSV; at most "
        f"{MAX_MB} MB and {base.MAX_LOTS:,} lots."
    )
    mode = NamedChoiceField(
        importer.MODES,
        enum_name="ImportModeEnum",
        default=importer.MERGE,
        help_text="merge: add to the matching item (same part, color, condition); add: every "
        "lot a new item.",
    )
    dry_run = serializers.BooleanField(
        default=False, help_text="true: answer the report and write nothing."
    )


class ImportErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The lot's position among the file's, from 0.")
    message = serializers.CharField()


class ImportReportSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    errors = ImportErrorSerializer(many=True)


class ExportQuerySerializer(serializers.Serializer):
    format = serializers.ChoiceField(list(exporter.FORMATS), default="bricklink_xml")


def file_too_large(message: str, **limits: int) -> ApiError:
    return ApiError(message, code="request_too_large", status_code=413, details=limits)


class ImportView(APIView):
    permission_classes = [IsOwner]
    # A JSON body can carry no file (it is a 400), but is parsed like any other body.
    parser_classes = [MultiPartParser, JSONParser]

    @extend_schema(
        request={"multipart/form-data": ImportRequestSerializer},
        responses={200: ImportReportSerializer},
        description=IMPORT_DOC,
    )
    def post(self, request: Request) -> Response:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > base.MAX_BYTES + MULTIPART_SLACK:  # refused before the body is read
            raise file_too_large(
                f"An inventory file may be at most {MAX_MB} MB.", max_bytes=base.MAX_BYTES
            )
        body = ImportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        if upload.size > base.MAX_BYTES:
            raise file_too_large(
                f"An inventory file may be at most {MAX_MB} MB.", max_bytes=base.MAX_BYTES
            )
        try:
            report = importer.inventory_import(
                account=account_of(request),
                actor=request.user,
                upload=upload,
                filename=upload.name or "",
                mode=body.validated_data["mode"],
                dry_run=body.validated_data["dry_run"],
            )
        except base.FileTooLarge as exc:
            raise file_too_large(str(exc), **exc.limits) from None
        except base.UnreadableFile as exc:
            raise ApiError(str(exc), code="parse_error") from None
        except base.UnknownFormat as exc:
            raise serializers.ValidationError({"file": [str(exc)]}) from None
        except importer.InvalidLots as exc:
            raise ApiError(
                f"Nothing was imported: {len(exc.report.errors)} invalid lot(s), named in "
                "details.errors.",
                code="validation_error",
                details=exc.report.as_dict(),
            ) from None
        return Response(ImportReportSerializer(report.as_dict()).data)


class JsonForErrors(BaseContentNegotiation):
    """``?format=`` names the file here, not a renderer (DRF's URL_FORMAT_OVERRIDE would
    answer 404 for it); the view's only rendered answers are errors, in JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ExportView(APIView):
    permission_classes = [IsOwner]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonForErrors

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=list(exporter.FORMATS),
                default="bricklink_xml",
                description="The file format.",
            )
        ],
        responses={
            (200, "application/xml"): OpenApiResponse(
                OpenApiTypes.STR,
                description="The file (bricklink_xml, bsx, csv), as an attachment.",
            ),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR),
        },
        description=EXPORT_DOC,
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        export = exporter.FORMATS[query.validated_data["format"]]
        response = StreamingHttpResponse(
            exporter.export_chunks(account=account_of(request), format_name=export.name),
            content_type=f"{export.media_type}; charset=utf-8",
        )
        filename = export.filename(clock.now().date())
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
