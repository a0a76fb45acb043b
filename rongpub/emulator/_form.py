"""Reading an `application/x-www-form-urlencoded` body the way the real server does.

Every problem becomes a `Rejection` with code 1002 (parameter error) naming the field, or
1005 (value too long), so a caller's test sees the same codes the real API answers.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from ._leniency import Judge
from ._wire import Rejection

__all__ = ["BAD_REQUEST", "PARAM_ERROR", "TOO_LONG", "Form", "param_error", "too_long"]

BAD_REQUEST = 400
PARAM_ERROR = 1002
TOO_LONG = 1005
_FORM_TYPE = "application/x-www-form-urlencoded"
_INTEGER = re.compile(r"-?[0-9]+")


def param_error(field: str, problem: str) -> Rejection:
    """400/1002 naming `field`."""
    return Rejection(BAD_REQUEST, PARAM_ERROR, f"{field}: {problem}")


def too_long(field: str, limit: int, unit: str = "characters") -> Rejection:
    """400/1005 naming `field` and its limit."""
    return Rejection(BAD_REQUEST, TOO_LONG, f"{field}: longer than {limit} {unit}")


class Form:
    """The decoded fields of one request body, with typed accessors that reject bad values."""

    def __init__(self, content_type: str | None, body: bytes, judge: Judge | None = None) -> None:
        self.judge = judge or Judge(strict=True)
        media_type = (content_type or "").split(";", 1)[0].strip().lower()
        if media_type != _FORM_TYPE:
            raise param_error("Content-Type", f"must be {_FORM_TYPE}")
        try:
            pairs = parse_qsl(body.decode(), keep_blank_values=True, errors="strict")
        except UnicodeDecodeError as exc:
            raise param_error("body", "is not valid UTF-8") from exc
        self.values: dict[str, list[str]] = {}
        for name, value in pairs:
            self.values.setdefault(name, []).append(value)

    def one(self, name: str, *, required: bool = False) -> str | None:
        """The single value of `name`; `None` when absent. A repeated field is relaxed: its
        first value counts (as a Java servlet's getParameter reads it)."""
        values = self.values.get(name)
        if not values:
            if required:
                raise param_error(name, "is required")
            return None
        if len(values) > 1:
            self.judge.relax("repeated-field", name, param_error(name, "given more than once"))
        if required and not values[0]:
            raise param_error(name, "must not be empty")
        return values[0]

    def required(self, name: str) -> str:
        """The single, non-empty value of a required field."""
        value = self.one(name, required=True)
        assert value is not None  # one(required=True) raised otherwise
        return value

    def many(self, name: str, *, max_length: int) -> list[str]:
        """Every value of a repeatable id field; each non-empty and at most `max_length`."""
        values = self.values.get(name, [])
        for value in values:
            if not value:
                raise param_error(name, "must not be empty")
            if len(value) > max_length:
                raise too_long(name, max_length)
        return values

    def int_in(self, name: str, allowed: range) -> int | None:
        """An Int field whose value must lie in `allowed` (e.g. 0/1 flags, priority 0-3)."""
        text = self.one(name)
        if text is None:
            return None
        bounds = f"{allowed.start} to {allowed.stop - 1}"
        error = param_error(name, f"must be an integer from {bounds}")
        if not _INTEGER.fullmatch(text):
            self.judge.relax("non-integer", name, error)  # read as absent: the default
            return None
        if int(text) not in allowed:
            raise error
        return int(text)

    def boolean(self, name: str) -> bool | None:
        """A Boolean field: `true` or `false` (any case, as Java's parser reads them)."""
        text = self.one(name)
        if text is None:
            return None
        lowered = text.lower()
        if lowered not in ("true", "false"):
            # Java's Boolean.parseBoolean reads anything but "true" as false
            self.judge.relax("non-boolean", name, param_error(name, "must be true or false"))
        return lowered == "true"
