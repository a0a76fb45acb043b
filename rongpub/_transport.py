"""Step 3 of the data path: send one attempt to the current host, and choose the host.

`post` translates httpx's exceptions at this one boundary: failures before any byte left
(`ConnectionFailedError`) and every other `httpx.RequestError` (`DeliveryUnknownError`: a
reset, a timeout, an answer that cannot be decoded, a redirect loop). The translated error
names the cause in its message but neither chains nor carries httpx's exception: those hold
the request, whose signature headers would let anyone replay calls while the timestamp holds.
`Hosts` keeps which base URL is current: a connection failure moves to the next one at once;
an ambiguous failure moves subsequent calls at most once per cooldown (as the official Go SDK
does).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from ._constants import FAILOVER_COOLDOWN
from ._exceptions import (
    ConnectionFailedError,
    DeliveryUnknownError,
    InvalidRequestError,
    RongCloudError,
)
from ._limit.protocol import Departure
from ._request import PreparedRequest

__all__ = ["Answer", "Hosts", "post", "traces_writes"]

#: What `post` returns: the status code, body and headers of the answer.
Answer = tuple[int, bytes, httpx.Headers]

# Raised before the request could be written: the server cannot have seen it.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)


@functools.lru_cache(maxsize=64)
def _url(base_url: str, path: str) -> httpx.URL:
    """`base_url + path`, parsed once: httpx parses a str URL anew on every request (~120k
    instructions, 4% of a send on loopback). `httpx.URL` is immutable, so one serves all."""
    return httpx.URL(base_url + path)


class Hosts:
    """The base URLs in failover order and the one currently in use."""

    def __init__(
        self,
        base_urls: Sequence[str],
        *,
        cooldown: float = FAILOVER_COOLDOWN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        urls = [url.rstrip("/") for url in base_urls]
        if not urls:
            raise InvalidRequestError("base_urls", "needs at least one URL")
        for url in urls:
            if not url.startswith(("https://", "http://")):
                raise InvalidRequestError("base_urls", f"{url!r} is not an http(s) URL")
        self.urls = tuple(urls)
        self._index = 0
        self._cooldown = cooldown
        self._clock = clock
        self._switched_at: float | None = None

    def __len__(self) -> int:
        return len(self.urls)

    @property
    def current(self) -> str:
        return self.urls[self._index]

    def connection_failed(self, url: str) -> None:
        """`url` could not be reached: move on unless another task already did."""
        if url == self.current:
            self._advance()

    def delivery_unknown(self, url: str) -> None:
        """An ambiguous failure on `url`: move subsequent calls on, once per cooldown."""
        now = self._clock()
        recent = self._switched_at is not None and now - self._switched_at < self._cooldown
        if url == self.current and not recent:
            self._advance()

    def _advance(self) -> None:
        self._index = (self._index + 1) % len(self.urls)
        self._switched_at = self._clock()


def _surely_unsent(exc: httpx.TransportError) -> bool:
    """Whether a "not sent" error really means the request never left.

    httpx's own transport raises these only before writing. Other transports may map more
    onto them: httpx-aiohttp turns any dropped connection, even one dropped after the
    request was written, into `ConnectTimeout`; of its errors only aiohttp's connector
    errors (the connection was never made) are sure.
    """
    cause = exc.__cause__
    if cause is None or type(cause).__module__.partition(".")[0] in ("httpcore", "httpx"):
        return True
    return any(base.__name__ == "ClientConnectorError" for base in type(cause).__mro__)


def traces_writes(client: httpx.AsyncClient, base_url: str) -> bool:
    """Whether requests to `base_url` go through httpx's own transport (httpcore), which calls
    the trace hook as each request's headers are about to be written. Other transports
    (httpx-aiohttp, mocks) ignore the hook. Reads httpx's private `_transport_for_url`
    (mounts and proxies decide the transport); if that ever changes, answers False."""
    pick = getattr(client, "_transport_for_url", None)
    transport = pick(httpx.URL(base_url)) if callable(pick) else None
    return isinstance(transport, httpx.AsyncHTTPTransport)


def _trace(departure: Departure) -> Callable[[str, dict[str, Any]], Awaitable[None]]:
    """An httpcore trace hook telling the limiter when the request's headers are written."""

    async def trace(event: str, info: dict[str, Any]) -> None:
        if event.endswith("send_request_headers.started"):
            await departure.leaving()
        elif event.endswith("send_request_body.complete"):
            departure.left()

    return trace


async def post(
    client: httpx.AsyncClient,
    base_url: str,
    request: PreparedRequest,
    sign: Callable[[PreparedRequest], dict[str, str]],
    timeout: httpx.Timeout,
    departure: Departure | None = None,
    *,
    traced: bool = True,
) -> Answer:
    """POST `request` to `base_url` with the headers `sign(request)` gives (signed as the
    attempt starts); httpx errors become rongpub's two transport errors.

    With a `departure`, the limiter is told just before the bytes go out: from the trace
    hook as the headers are written when the transport is `traced` (see `traces_writes`),
    else just before the request is handed to the transport.
    """
    extensions = None
    if departure is not None:
        if traced:
            extensions = {"trace": _trace(departure)}
        else:
            await departure.leaving()
    error: RongCloudError
    try:
        return await _exchange(
            client, _url(base_url, request.path), request, sign, timeout, extensions
        )
    except _NOT_SENT as exc:
        error = _not_sent(exc, base_url, request)
    except httpx.RequestError as exc:  # written, then lost, undecodable or redirected in a loop
        error = DeliveryUnknownError(
            f"{_cause(exc)} after sending to {base_url}: the server may have accepted the message",
            request_id=request.request_id,
        )
    except RongCloudError as exc:  # from the limiter, inside httpcore's frames
        error = exc.with_traceback(None)
    # Raised outside the handlers: no __context__ leads back to httpx's frames and request.
    raise error


async def _exchange(
    client: httpx.AsyncClient,
    url: httpx.URL,
    request: PreparedRequest,
    sign: Callable[[PreparedRequest], dict[str, str]],
    timeout: httpx.Timeout,
    extensions: dict[str, Any] | None,
) -> Answer:
    response = await client.post(
        url, content=request.body, headers=sign(request), timeout=timeout, extensions=extensions
    )
    return response.status_code, response.content, response.headers


def _cause(exc: httpx.RequestError) -> str:
    """The error's type and text, and its cause's: what is kept of it."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    cause = exc.__cause__
    return text if cause is None else f"{text} ({type(cause).__name__}: {cause})"


def _not_sent(exc: httpx.TransportError, base_url: str, request: PreparedRequest) -> RongCloudError:
    if not _surely_unsent(exc):
        return DeliveryUnknownError(
            f"connection to {base_url} lost ({_cause(exc)}): the server may have accepted the "
            "message",
            request_id=request.request_id,
        )
    return ConnectionFailedError(
        f"could not reach {base_url}: {_cause(exc)}", request_id=request.request_id
    )
