"""Whether an asyncio event loop runs: redis-py's asyncio client needs one (not trio)."""

from __future__ import annotations

import asyncio

__all__ = ["on_asyncio"]


def on_asyncio() -> bool:
    """Whether the caller runs in an asyncio event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
