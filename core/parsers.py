"""The API's JSON parser: DRF's, plus the one malformed body it lets through as a 500."""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser as DRFJSONParser


class JSONParser(DRFJSONParser):
    """A body nested deeper than Python's recursion limit (``[[[[...``, 100,000 deep) makes
    ``json.loads`` raise RecursionError, which DRF's parser, catching ValueError, does not
    turn into a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
