from starlette.applications import Starlette
from sockethub import WebSocketRoute, ISocket

ws_route = WebSocketRoute("/ws/chat")
room = ws_route.channel("room:{room_id}")

@ws_route.on_connect
async def on_connect(sock: ISocket) -> None:
    await sock.allow_if(sock.query_params.get("token") == "secret")
    sock.assigns["rooms"] = set()

@ws_route.on_disconnect
async def on_disconnect(sock: ISocket) -> None: ...

@room.on_join
async def on_join(params: dict, sock: ISocket) -> None:
    sock.assigns["rooms"].add(params["room_id"])

@room.on_exit
async def on_exit(sock: ISocket) -> None: ...

@room.on_receive("chat")
async def on_chat(payload, sock: ISocket) -> None:
    await sock.reply({"echo": payload})

@ws_route.handler            # the dummy handler that managed mode demands
async def handle_ws() -> None:
    return None

app = Starlette(routes=[ws_route])
