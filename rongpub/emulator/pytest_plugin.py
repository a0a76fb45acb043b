"""pytest plugin of rongpub: the `rongcloud_emulator` fixture (being built, see issue 4).

Loaded in every pytest run of every user who installs rongpub, so it imports nothing heavy.
"""

from __future__ import annotations
