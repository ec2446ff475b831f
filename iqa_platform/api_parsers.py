"""The API's JSON parser: finite numbers only, and a depth limit instead of a RecursionError.

Python's json accepts NaN, Infinity and numbers such as 1e400 (parsed as inf), which then fail
deep inside the code (datetime, int(), the database's JSON check: a 409 or a 500 instead of a
400); a body nested 100,000 deep overflows the parser's recursion (a 500). Both are refused here
as a 400 before any view sees them.
"""

import codecs
import json
import math

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


class FiniteJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.load(
                codecs.getreader(encoding)(stream),
                parse_float=_finite,
                parse_constant=_no_constant,
            )
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
