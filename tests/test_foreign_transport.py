"""Other httpx transports: errors they file under "not sent" are not all trusted."""

from __future__ import annotations

import httpx
import pytest

from rongpub import ConnectionFailedError, DeliveryUnknownError, RongCloud, TextMessage
from rongpub.emulator import Emulator, Faults, serve

from .mock_api import MockAPI

pytestmark = pytest.mark.anyio


class ClientConnectorError(Exception):
    """Stands in for aiohttp's error of that name: the connection was never made."""


@pytest.mark.parametrize(
    ("cause", "error"),
    [
        (ClientConnectorError("refused"), ConnectionFailedError),
        (OSError("Connection reset by peer"), DeliveryUnknownError),
    ],
)
async def test_a_foreign_connect_timeout_is_trusted_only_for_connector_errors(
    cause: Exception, error: type[Exception]
) -> None:
    fault = httpx.ConnectTimeout("mapped by another transport")
    fault.__cause__ = cause
    api = MockAPI(fault, default=lambda request: httpx.ConnectError("down"))
    async with api.client(base_urls=("https://only.test",)) as rc:
        with pytest.raises(error):
            await rc.publish_group(
                from_user_id="u", group_ids=["g"], content=TextMessage(content="x")
            )
    assert len(api.requests) == 1


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_httpx_aiohttp_reset_after_sending_is_unknown_not_resent() -> None:
    httpx_aiohttp = pytest.importorskip("httpx_aiohttp")
    emulator = Emulator({"k": "s"}, faults=Faults(reset_after_rate=1.0))
    async with (
        serve(emulator) as server,
        httpx.AsyncClient(transport=httpx_aiohttp.AiohttpTransport()) as http,
        RongCloud(
            "k", "s", base_urls=[server.url, server.url + "/"], rate_limits=None, http_client=http
        ) as rc,
    ):
        with pytest.raises(DeliveryUnknownError):
            await rc.publish_group(
                from_user_id="u", group_ids=["g"], content=TextMessage(content="x")
            )
    assert len(emulator.records) == 1  # delivered once, not again through the backup
