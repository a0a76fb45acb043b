"""Rules the documents leave unclear: relaxed by default (with a warning), errors when strict.

An emulator stricter than RongCloud sends users hunting for bugs they do not have, so where the
documents (and FACTS.md) do not say the real server refuses something, the emulator accepts it
and records a `FidelityWarning` a test can read; `strict=True` turns each into the error named.
See docs/emulator-fidelity.md for the list.
"""

from __future__ import annotations

import msgspec

from ._wire import Rejection

__all__ = ["FidelityWarning", "Judge"]


class FidelityWarning(msgspec.Struct, frozen=True, kw_only=True):
    """A request the emulator accepted although a stricter reading would refuse it.

    `rule`: which relaxed rule (e.g. "long-nonce", "unknown-builtin-type"); `field`: the header
    or form field; `detail`: what was seen; `api`: "group" or "chatroom"; `app_key`: whose
    request; `request_id`: the request's X-Request-ID, if any; `time`: seconds on the
    emulator's clock.
    """

    rule: str
    field: str
    detail: str
    api: str = ""
    app_key: str = ""
    request_id: str | None = None
    time: float = 0.0


class Judge:
    """Applies one request's relaxed rules: raises the rejection when strict, else notes it."""

    def __init__(self, *, strict: bool) -> None:
        self.strict = strict
        #: (rule, field, detail) of every rule relaxed for this request, in order.
        self.notes: list[tuple[str, str, str]] = []

    def relax(self, rule: str, field: str, rejection: Rejection) -> None:
        """`rejection` under strict mode; otherwise the rule is noted and the request goes on."""
        if self.strict:
            raise rejection
        self.note(rule, field, rejection.message)

    def note(self, rule: str, field: str, detail: str) -> None:
        """Note something the documents say is ignored (never an error, even when strict);
        a field read twice is noted once."""
        if (rule, field, detail) not in self.notes:
            self.notes.append((rule, field, detail))
