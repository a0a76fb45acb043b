"""`FamilyCalls`: the private, system and broadcast calls of `RongCloud` (a mixin).

Thin keyword wrappers, as `publish_group` is: they build the message value and hand it to
the client's `publish` / `fanout`; a broadcast has no targets and goes to the `Sender` as is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._config import DEFAULT, Default, or_default
from .._fanout.options import FANOUT_PRIVATE_PACK, FANOUT_SYSTEM_PACK
from .._outgoing import PrivateMessage, SystemMessage, split_fanout_kwargs
from .._response import PublishResult
from .request import PrivateFields, SystemFields, broadcast_request

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._fanout.engine import Fanout
    from .._fanout.intake import Targets
    from .._fanout.options import FanoutKwargs
    from .._limit.protocol import Lane
    from .._outgoing import OutgoingMessage, PrivateFanoutKwargs, SystemFanoutKwargs
    from .._sender import Sender
    from .request import BroadcastFields

__all__ = ["FamilyCalls"]


class FamilyCalls:
    """Private, system and broadcast sends; mixed into `RongCloud`, which provides
    `_sender`, `publish` and `fanout`."""

    if TYPE_CHECKING:
        _sender: Sender
        _max_wait: float | None
        _deadline: float | None

        async def publish(
            self,
            message: OutgoingMessage[Any],
            *,
            to: Iterable[str],
            lane: Lane = "interactive",
            max_wait: float | Default | None = DEFAULT,
            deadline: float | Default | None = DEFAULT,
        ) -> PublishResult: ...

        def fanout(
            self,
            message: OutgoingMessage[Any],
            targets: Targets,
            *,
            pack_size: int | None = None,
            **options: Unpack[FanoutKwargs],
        ) -> Fanout: ...

    async def publish_private(
        self,
        *,
        to_user_ids: Iterable[str],
        lane: Lane = "interactive",
        max_wait: float | Default | None = DEFAULT,
        deadline: float | Default | None = DEFAULT,
        **fields: Unpack[PrivateFields],
    ) -> PublishResult:
        """Send one private message to 1-1,000 users: `publish(PrivateMessage(**fields),
        to=to_user_ids, lane=..., max_wait=..., deadline=...)`. Each user counts against
        the private quota (6,000 a minute)."""
        message = PrivateMessage(**fields)
        return await self.publish(
            message, to=to_user_ids, lane=lane, max_wait=max_wait, deadline=deadline
        )

    async def publish_system(
        self,
        *,
        to_user_ids: Iterable[str],
        lane: Lane = "interactive",
        max_wait: float | Default | None = DEFAULT,
        deadline: float | Default | None = DEFAULT,
        **fields: Unpack[SystemFields],
    ) -> PublishResult:
        """Send one system message to 1-100 users: `publish(SystemMessage(**fields),
        to=to_user_ids, lane=..., max_wait=..., deadline=...)`. Each user counts against the
        system quota (100 a second)."""
        message = SystemMessage(**fields)
        return await self.publish(
            message, to=to_user_ids, lane=lane, max_wait=max_wait, deadline=deadline
        )

    async def broadcast_chatroom(
        self,
        *,
        lane: Lane = "interactive",
        max_wait: float | Default | None = DEFAULT,
        deadline: float | Default | None = DEFAULT,
        **fields: Unpack[BroadcastFields],
    ) -> PublishResult:
        """Send one message to every chatroom of the app (`/message/chatroom/broadcast.json`).

        One request per second (the broadcast quota); the app needs the broadcast service
        enabled, else the server answers 1009 (`RejectedError`). Only users in a room at
        that moment receive it; it is not stored in chatroom history. `lane`, `max_wait`
        and `deadline` as for `publish`.
        """
        return await self._sender.send(
            broadcast_request(**fields),
            lane=lane,
            max_wait=or_default(max_wait, self._max_wait),
            deadline=or_default(deadline, self._deadline),
        )

    def fanout_private(
        self,
        user_ids: Targets,
        *,
        pack_size: int = FANOUT_PRIVATE_PACK,
        **fields_and_options: Unpack[PrivateFanoutKwargs],
    ) -> Fanout:
        """`fanout(PrivateMessage(**fields), user_ids, **options)`: up to `pack_size`
        (default 1,000; one with `badge`) users a request."""
        fields, options = split_fanout_kwargs(fields_and_options)
        return self.fanout(PrivateMessage(**fields), user_ids, pack_size=pack_size, **options)

    def fanout_system(
        self,
        user_ids: Targets,
        *,
        pack_size: int = FANOUT_SYSTEM_PACK,
        **fields_and_options: Unpack[SystemFanoutKwargs],
    ) -> Fanout:
        """`fanout(SystemMessage(**fields), user_ids, **options)`: up to `pack_size`
        (default 100) users a request."""
        fields, options = split_fanout_kwargs(fields_and_options)
        return self.fanout(SystemMessage(**fields), user_ids, pack_size=pack_size, **options)
