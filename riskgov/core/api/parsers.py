"""The API's JSON parser: DRF's, with the nesting bound of `riskgov.core.json_input` checked first."""

from __future__ import annotations

import io
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from riskgov.core.json_input import JSONTooDeep, json_depth_check


class BoundedJSONParser(JSONParser):
    """A JSON body nested deeper than MAX_JSON_DEPTH is a 400 (``parse_error``) instead of a RecursionError."""

    def parse(self, stream: IO[Any], media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            json_depth_check(raw)
        except JSONTooDeep as error:
            raise ParseError(f"JSON parse error - {error}") from None
        return super().parse(io.BytesIO(raw), media_type, parser_context)
