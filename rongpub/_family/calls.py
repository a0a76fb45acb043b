"""`FamilyCalls`: the private, system and broadcast calls of `RongCloud` (a mixin).

They build their request with `rongpub._family.request` and hand it to the client's
`Sender`, or a `Fanout` over the same journal, outcomes and progress as groups and chatrooms.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from .._fanout.options import FANOUT_PRIVATE_PACK, FANOUT_SYSTEM_PACK, FanoutOptions
from .._push import PushExt
from .._response import PublishResult
from .._validation import Content
from .request import broadcast_request, private_template, system_template

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._fanout.engine import Fanout
    from .._fanout.intake import Targets
    from .._fanout.options import FanoutKwargs
    from .._request import Template
    from .._sender import Sender

__all__ = ["FamilyCalls"]


class FamilyCalls:
    """Private, system and broadcast sends; mixed into `RongCloud`, which provides
    `_sender` and `_fanout`."""

    if TYPE_CHECKING:
        _sender: Sender

        def _fanout(
            self, template: Template, targets: Targets, options: FanoutOptions
        ) -> Fanout: ...

    async def publish_private(
        self,
        *,
        from_user_id: str,
        to_user_ids: Iterable[str],
        content: Content,
        object_name: str | None = None,
        push_content: str | None = None,
        push_data: str | None = None,
        badge: int | None = None,
        verify_blacklist: bool | None = None,
        persisted: bool | None = None,
        include_sender: bool | None = None,
        content_available: bool | None = None,
        expansion: bool | None = None,
        extra_content: Mapping[str, str] | None = None,
        disable_push: bool | None = None,
        push_ext: PushExt | None = None,
    ) -> PublishResult:
        """Send one private message to 1-1,000 users (`/message/private/publish.json`).

        Each user counts against the private quota (6,000 per minute). `badge` (form field
        `count`): the iOS badge, -1 to leave it, 0-9999 to set it; exactly one user.
        `verify_blacklist`: skip users who blacklisted the sender. `extra_content` needs
        `expansion=True`. Content and the other fields as `publish_group`; `None` is not sent.
        """
        template = private_template(
            from_user_id=from_user_id,
            content=content,
            object_name=object_name,
            push_content=push_content,
            push_data=push_data,
            badge=badge,
            verify_blacklist=verify_blacklist,
            persisted=persisted,
            include_sender=include_sender,
            content_available=content_available,
            expansion=expansion,
            extra_content=extra_content,
            disable_push=disable_push,
            push_ext=push_ext,
        )
        return await self._sender.send(template.to(to_user_ids))

    async def publish_system(
        self,
        *,
        from_user_id: str,
        to_user_ids: Iterable[str],
        content: Content,
        object_name: str | None = None,
        push_content: str | None = None,
        push_data: str | None = None,
        persisted: bool | None = None,
        counted: bool | None = None,
        content_available: bool | None = None,
        disable_push: bool | None = None,
        push_ext: PushExt | None = None,
    ) -> PublishResult:
        """Send one system message to 1-100 users (`/message/system/publish.json`).

        Each user counts against the system quota (100 per second); the users see it in a
        SYSTEM conversation with `from_user_id` and cannot reply. `counted`: count it as
        unread (`isCounted`). Other fields as `publish_private`.
        """
        template = system_template(
            from_user_id=from_user_id,
            content=content,
            object_name=object_name,
            push_content=push_content,
            push_data=push_data,
            persisted=persisted,
            counted=counted,
            content_available=content_available,
            disable_push=disable_push,
            push_ext=push_ext,
        )
        return await self._sender.send(template.to(to_user_ids))

    async def broadcast_chatroom(
        self,
        *,
        from_user_id: str,
        content: Content,
        object_name: str | None = None,
        include_sender: bool | None = None,
    ) -> PublishResult:
        """Send one message to every chatroom of the app (`/message/chatroom/broadcast.json`).

        One request per second (the broadcast quota); the app needs the broadcast service
        enabled, else the server answers 1009 (`RejectedError`). Only users in a room at
        that moment receive it; it is not stored in chatroom history.
        """
        request = broadcast_request(
            from_user_id=from_user_id,
            content=content,
            object_name=object_name,
            include_sender=include_sender,
        )
        return await self._sender.send(request)

    def fanout_private(
        self,
        user_ids: Targets,
        *,
        from_user_id: str,
        content: Content,
        object_name: str | None = None,
        push_content: str | None = None,
        push_data: str | None = None,
        verify_blacklist: bool | None = None,
        persisted: bool | None = None,
        include_sender: bool | None = None,
        content_available: bool | None = None,
        expansion: bool | None = None,
        extra_content: Mapping[str, str] | None = None,
        disable_push: bool | None = None,
        push_ext: PushExt | None = None,
        pack_size: int = FANOUT_PRIVATE_PACK,
        **options: Unpack[FanoutKwargs],
    ) -> Fanout:
        """One private message to every user of `user_ids`, up to `pack_size` (default
        1,000) a request; message fields as `publish_private` (no `badge`: it needs single
        sends), options as `fanout_group`."""
        template = private_template(
            from_user_id=from_user_id,
            content=content,
            object_name=object_name,
            push_content=push_content,
            push_data=push_data,
            verify_blacklist=verify_blacklist,
            persisted=persisted,
            include_sender=include_sender,
            content_available=content_available,
            expansion=expansion,
            extra_content=extra_content,
            disable_push=disable_push,
            push_ext=push_ext,
        )
        return self._fanout(template, user_ids, FanoutOptions(pack_size=pack_size, **options))

    def fanout_system(
        self,
        user_ids: Targets,
        *,
        from_user_id: str,
        content: Content,
        object_name: str | None = None,
        push_content: str | None = None,
        push_data: str | None = None,
        persisted: bool | None = None,
        counted: bool | None = None,
        content_available: bool | None = None,
        disable_push: bool | None = None,
        push_ext: PushExt | None = None,
        pack_size: int = FANOUT_SYSTEM_PACK,
        **options: Unpack[FanoutKwargs],
    ) -> Fanout:
        """One system message to every user of `user_ids`, up to `pack_size` (default 100)
        a request; message fields as `publish_system`, options as `fanout_group`."""
        template = system_template(
            from_user_id=from_user_id,
            content=content,
            object_name=object_name,
            push_content=push_content,
            push_data=push_data,
            persisted=persisted,
            counted=counted,
            content_available=content_available,
            disable_push=disable_push,
            push_ext=push_ext,
        )
        return self._fanout(template, user_ids, FanoutOptions(pack_size=pack_size, **options))
