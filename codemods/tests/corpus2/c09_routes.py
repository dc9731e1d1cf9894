"""Routes shared across modules: built here, hooks registered in c09_app."""

from sockethub import WebSocketRoute

chat = WebSocketRoute("/c09")
room = chat.channel("room:{id}")


@chat.handler
async def handler() -> None:
    return None
