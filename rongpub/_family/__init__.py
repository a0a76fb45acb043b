"""The rest of the publish family (issue #18): private, system and chatroom-broadcast sends.

`request` validates and encodes them like `rongpub._request` does groups and chatrooms;
`calls` offers them on `RongCloud`. Each has its own quota (docs/reference/*.md).
"""
