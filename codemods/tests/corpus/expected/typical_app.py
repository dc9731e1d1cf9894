from starlette.applications import Starlette
from sockethub import EnvelopeProtocol, ISocket, SocketHub

ws_route = SocketHub(
    "/ws/chat",
    ordering="connection",
    per_join_sockets=False,
    error_policy="raise",
    protocol=EnvelopeProtocol(),
)
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

app = Starlette(routes=[ws_route])
