"""Before/after cases for every rule and trap of MigrateManagedRoutesCommand."""

from __future__ import annotations

import libcst as cst

from .helpers import MigrateTest, migrate, undefined_names

TYPICAL_BEFORE = """
from starlette.applications import Starlette
from sockethub import WebSocketRoute, ISocket

ws_route = WebSocketRoute("/ws/chat")
room = ws_route.channel("room:{room_id}")

@ws_route.on_connect
async def on_connect(sock: ISocket) -> None:
    await sock.allow_if(sock.query_params.get("token") == "secret")
    sock.assigns["rooms"] = set()

@ws_route.handler            # the dummy handler that managed mode demands
async def handle_ws() -> None:
    return None

app = Starlette(routes=[ws_route])
"""

TYPICAL_AFTER = """
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

app = Starlette(routes=[ws_route])
"""


class TestImportStyles(MigrateTest):
    def test_from_sockethub_import(self) -> None:
        self.check(TYPICAL_BEFORE, TYPICAL_AFTER)

    def test_from_sockethub_websocket_import(self) -> None:
        self.check(
            """
            from sockethub.websocket import WebSocketRoute

            route = WebSocketRoute("/ws")
            route.channel("a:{b}")
            route.handler(lambda: None)
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            route = SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            route.channel("a:{b}")
            """,
        )

    def test_alias(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute as Route, ISocket

            chat = Route("/chat")
            chat.channel("a:{b}")
            """,
            """
            from sockethub import EnvelopeProtocol, ISocket, SocketHub

            chat = SocketHub(
                "/chat",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            chat.channel("a:{b}")
            """,
        )

    def test_module_alias_keeps_its_style(self) -> None:
        self.check(
            """
            import sockethub as sh

            route = sh.WebSocketRoute("/ws")
            route.channel("lobby:{x}")

            @route.handler
            async def handler():
                pass
            """,
            """
            import sockethub as sh

            route = sh.SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=sh.EnvelopeProtocol(),
            )
            route.channel("lobby:{x}")
            """,
        )

    def test_dotted_submodule(self) -> None:
        self.check(
            """
            import sockethub.websocket

            route = sockethub.websocket.WebSocketRoute("/ws")
            route.channel("room:{id}")
            """,
            """
            import sockethub.websocket

            route = sockethub.SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=sockethub.EnvelopeProtocol(),
            )
            route.channel("room:{id}")
            """,
        )

    def test_submodule_imported_by_name(self) -> None:
        self.check(
            """
            from sockethub import websocket

            route = websocket.WebSocketRoute("/ws")
            route.channel("room:{id}")
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            route = SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            route.channel("room:{id}")
            """,
        )


class TestTraps(MigrateTest):
    def test_starlette_websocketroute_untouched(self) -> None:
        self.unchanged(
            """
            from starlette.routing import WebSocketRoute

            async def endpoint(ws):
                await ws.accept()

            route = WebSocketRoute("/ws", endpoint=endpoint)
            route.handler = None
            """
        )

    def test_starlette_next_to_sockethub(self) -> None:
        self.check(
            """
            import sockethub
            from starlette.routing import WebSocketRoute

            hub = sockethub.WebSocketRoute("/ws")
            hub.channel("a:{b}")
            plain = WebSocketRoute("/x", endpoint=print)
            """,
            """
            import sockethub
            from starlette.routing import WebSocketRoute

            hub = sockethub.SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=sockethub.EnvelopeProtocol(),
            )
            hub.channel("a:{b}")
            plain = WebSocketRoute("/x", endpoint=print)
            """,
        )

    def test_low_level_route_untouched(self) -> None:
        self.unchanged(
            """
            from sockethub import WebSocketRoute, ISocket

            route = WebSocketRoute("/ws/{x}")

            @route.endpoint
            async def ep(sock: ISocket, x: int) -> None:
                await sock.accept()
            """
        )

    def test_route_never_used_in_managed_mode_untouched(self) -> None:
        self.unchanged(
            """
            from sockethub import WebSocketRoute

            route = WebSocketRoute("/ws")
            routes = [route]
            """
        )

    def test_mixed_modes_left_alone(self) -> None:
        # 0.1 refuses endpoint + managed calls on one route: nothing safe to do.
        self.unchanged(
            """
            from sockethub import WebSocketRoute

            route = WebSocketRoute("/r")
            route.channel("x:{y}")
            route.endpoint(print)
            """
        )

    def test_low_level_and_managed_in_one_module(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            low = WebSocketRoute("/low")
            low.endpoint(print)
            hub = WebSocketRoute("/hub")
            hub.channel("a:{b}")
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub, WebSocketRoute

            low = WebSocketRoute("/low")
            low.endpoint(print)
            hub = SocketHub(
                "/hub",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            hub.channel("a:{b}")
            """,
        )

    def test_variable_names_never_change(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            WebSocketRoute_for_chat = WebSocketRoute("/ws")
            WebSocketRoute_for_chat.channel("a:{b}")
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            WebSocketRoute_for_chat = SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            WebSocketRoute_for_chat.channel("a:{b}")
            """,
        )


class TestWhereRoutesLive(MigrateTest):
    def test_class_attribute_and_self_attribute(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute, ISocket

            class Chat:
                route = WebSocketRoute("/chat")

                def __init__(self) -> None:
                    self.other = WebSocketRoute("/other")
                    self.other.channel("a:{b}")

                @route.on_disconnect
                async def bye(sock: ISocket) -> None:
                    pass

            @Chat.route.handler
            async def h():
                return None
            """,
            """
            from sockethub import EnvelopeProtocol, ISocket, SocketHub

            class Chat:
                route = SocketHub(
                    "/chat",
                    ordering="connection",
                    per_join_sockets=False,
                    error_policy="raise",
                    protocol=EnvelopeProtocol(),
                )

                def __init__(self) -> None:
                    self.other = SocketHub(
                        "/other",
                        ordering="connection",
                        per_join_sockets=False,
                        error_policy="raise",
                        protocol=EnvelopeProtocol(),
                    )
                    self.other.channel("a:{b}")

                @route.on_disconnect
                async def bye(sock: ISocket) -> None:
                    pass
            """,
        )

    def test_factory_functions_and_return_annotations(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            def make_route(prefix: str) -> WebSocketRoute:
                r = WebSocketRoute(prefix)
                r.channel("x:{y}")
                return r

            def make_low() -> WebSocketRoute:
                return WebSocketRoute("/low")

            def make_hub() -> WebSocketRoute:
                return WebSocketRoute("/hub")

            hub = make_hub()
            hub.channel("a:{b}")
            low = make_low()
            low.endpoint(print)
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub, WebSocketRoute

            def make_route(prefix: str) -> SocketHub:
                r = SocketHub(
                    prefix,
                    ordering="connection",
                    per_join_sockets=False,
                    error_policy="raise",
                    protocol=EnvelopeProtocol(),
                )
                r.channel("x:{y}")
                return r

            def make_low() -> WebSocketRoute:
                return WebSocketRoute("/low")

            def make_hub() -> SocketHub:
                return SocketHub(
                    "/hub",
                    ordering="connection",
                    per_join_sockets=False,
                    error_policy="raise",
                    protocol=EnvelopeProtocol(),
                )

            hub = make_hub()
            hub.channel("a:{b}")
            low = make_low()
            low.endpoint(print)
            """,
        )

    def test_variable_and_parameter_annotations(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            route: WebSocketRoute = WebSocketRoute("/ws")

            def register(r: WebSocketRoute) -> None:
                r.channel("a:{b}")

            register(route)
            route.channel("c:{d}")
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            route: SocketHub = SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )

            def register(r: SocketHub) -> None:
                r.channel("a:{b}")

            register(route)
            route.channel("c:{d}")
            """,
        )


class TestHandler(MigrateTest):
    def test_decorator_with_docstring_only(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            route = WebSocketRoute("/ws")

            @route.handler
            async def handler() -> None:
                \"\"\"Managed mode wants one.\"\"\"

            app_routes = [route]
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            route = SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )

            app_routes = [route]
            """,
        )

    def test_call_form_removes_function(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            async def noop() -> None:
                ...

            route = WebSocketRoute("/ws")
            route.handler(noop)
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            route = SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            """,
        )

    def test_referenced_elsewhere_is_kept(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            async def noop() -> None:
                return

            route = WebSocketRoute("/ws")
            route.handler(noop)
            other = [noop]
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            async def noop() -> None:
                return

            route = SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            other = [noop]
            """,
        )

    def test_real_work_kept_with_todo_decorator(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            route = WebSocketRoute("/ws")

            @route.handler
            async def handler() -> None:
                print("setting up")
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            route = SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )

            # TODO(sockethub-migrate): this was the 0.1 managed-mode handler of `route`; SocketHub needs none
            #   and 0.1 never ran its body: move any logic into on_connect, then delete it. See
            #   MIGRATION.md#handler-with-a-body.
            async def handler() -> None:
                print("setting up")
            """,
        )

    def test_real_work_kept_with_todo_call(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            def audit() -> None:
                log.info("x")

            route = WebSocketRoute("/ws")
            route.handler(audit)
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            # TODO(sockethub-migrate): this was the 0.1 managed-mode handler of `route`; SocketHub needs none
            #   and 0.1 never ran its body: move any logic into on_connect, then delete it. See
            #   MIGRATION.md#handler-with-a-body.
            def audit() -> None:
                log.info("x")

            route = SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            """,
        )

    def test_handler_used_as_value_blocks(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            route = WebSocketRoute("/ws")
            h = route.handler(lambda: None)
            """,
            """
            from sockethub import WebSocketRoute

            route = WebSocketRoute("/ws")
            # TODO(sockethub-migrate): `route.handler` is used in a way this tool cannot remove safely; `route`
            #   stays a deprecated 0.1 WebSocketRoute. SocketHub has no handler: delete it and replace the route
            #   by SocketHub by hand. See MIGRATION.md#handlers-and-hooks-used-unusually.
            h = route.handler(lambda: None)
            """,
        )

    def test_only_block_in_class_gets_pass(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            route = WebSocketRoute("/ws")
            route.channel("a:{b}")

            class Handlers:
                @route.handler
                async def h():
                    pass
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            route = SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            route.channel("a:{b}")

            class Handlers:
                pass
            """,
        )

    def test_removed_handler_drops_its_now_unused_imports(self) -> None:
        self.check(
            """
            from starlette.websockets import WebSocket
            from sockethub import WebSocketRoute

            route = WebSocketRoute("/ws")

            @route.handler
            async def h(ws: WebSocket):
                pass
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            route = SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            """,
        )


class TestHookParameters(MigrateTest):
    def test_path_query_and_int_conversion(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute, ISocket

            route = WebSocketRoute("/ws/{room_id}/{page:int}")

            @route.handler
            async def handler(room_id: int, page: int, token: str = "", limit: float = 2.5):
                return None

            @route.on_connect
            async def on_connect(sock: ISocket, room_id: int, page: int, token: str = "", limit: float = 2.5) -> None:
                \"\"\"Docstring stays first.\"\"\"
                await sock.allow_if(token == "secret")
                sock.assigns["where"] = (room_id, page, limit)

            @route.on_disconnect
            async def on_disconnect(sock: ISocket, room_id: int, page: int, token: str = "", limit: float = 2.5) -> None:
                sock.assigns.clear()
            """,
            """
            from sockethub import EnvelopeProtocol, ISocket, SocketHub

            route = SocketHub(
                "/ws/{room_id}/{page:int}",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )

            @route.on_connect
            async def on_connect(sock: ISocket, room_id: int, page: int, token: str = "", limit: float = 2.5) -> None:
                \"\"\"Docstring stays first.\"\"\"
                await sock.allow_if(token == "secret")
                sock.assigns["where"] = (room_id, page, limit)

            @route.on_disconnect
            async def on_disconnect(sock: ISocket, room_id: int, page: int, token: str = "", limit: float = 2.5) -> None:
                sock.assigns.clear()
            """,
        )

    def test_required_query_param_is_declared_and_one_line_body(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            r = WebSocketRoute("/r/{room_id:int}")

            async def h(room_id: int, token: str):
                return None

            r.handler(h)

            async def c(sock, room_id: int, token: str): await sock.allow_if(token == "s")

            r.on_connect(c)
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            r = SocketHub(
                "/r/{room_id:int}",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )

            async def c(sock, room_id: int, token: str): await sock.allow_if(token == "s")

            r.on_connect(c)
            """,
        )

    def test_multiline_and_keyword_only_signatures(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            r = WebSocketRoute("/r/{slug}")
            r.handler(lambda slug, lang="en": None)

            @r.on_connect
            async def c(
                sock,
                slug: str,
                lang: str = "en",
            ) -> None:
                print(slug, lang)

            @r.on_disconnect
            async def d(sock, *, slug, lang="en"):
                pass
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            r = SocketHub(
                "/r/{slug}",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )

            @r.on_connect
            async def c(sock, slug, lang="en") -> None:
                print(slug, lang)

            @r.on_disconnect
            async def d(sock, *, slug, lang="en"):
                pass
            """,
        )

    def test_extra_hook_parameter_with_default_kept(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            r = WebSocketRoute("/r/{x}")

            @r.handler
            async def h(x):
                pass

            @r.on_connect
            async def c(sock, x, retries=3):
                print(x, retries)
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            r = SocketHub(
                "/r/{x}",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )

            @r.on_connect
            async def c(sock, x):
                retries = 3
                print(x, retries)
            """,
        )

    def test_kwargs_hook_declares_what_it_reads(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            r = WebSocketRoute("/r/{room_id}")
            r.channel("x:{y}")

            @r.handler
            async def h(room_id: int):
                return None

            @r.on_disconnect
            async def d(sock, **params):
                print(params)
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            r = SocketHub(
                "/r/{room_id}",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            r.channel("x:{y}")

            @r.on_disconnect
            async def d(sock, room_id: int, **params):
                params["room_id"] = room_id
                print(params)
            """,
        )

    def test_bool_query_param_is_declared_on_the_hook(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            r = WebSocketRoute("/r")

            @r.handler
            async def h(admin: bool = False):
                return None

            @r.on_connect
            async def c(sock, admin: bool = False):
                sock.assigns["admin"] = admin
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            r = SocketHub(
                "/r",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )

            @r.on_connect
            async def c(sock, admin: bool = False):
                sock.assigns["admin"] = admin
            """,
        )

    def test_unknown_handler_with_hook_parameters_blocks(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute
            from elsewhere import handler

            r = WebSocketRoute("/r")
            r.handler(handler)

            @r.on_connect
            async def c(sock, token=""):
                pass
            """,
            """
            from sockethub import WebSocketRoute
            from elsewhere import handler

            r = WebSocketRoute("/r")
            r.handler(handler)

            # TODO(sockethub-migrate): `c` takes keyword parameters from a handler this tool cannot see; `r`
            #   stays a deprecated 0.1 WebSocketRoute until this hook declares the handler's parameters itself.
            #   See MIGRATION.md#hook-parameters.
            @r.on_connect
            async def c(sock, token=""):
                pass
            """,
        )


class TestComposition(MigrateTest):
    def test_merge_of_pathless_child_becomes_a_child_at_the_parents_path(self) -> None:
        # 0.1 copied a route with no path of its own to the parent's path, where the
        # parent (matched first) shadowed it; a hub child at that path is shadowed alike.
        self.check(
            """
            import sockethub

            route = sockethub.WebSocketRoute("/ws")
            child = sockethub.WebSocketRoute()
            child.channel("c:{x}")
            route.channel("a:{b}")
            route.merge(child, parent_prefix=None)
            other = sockethub.WebSocketRoute("")
            other.channel("o:{x}")
            route.include_subroutes(other)
            """,
            """
            import sockethub

            route = sockethub.SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=sockethub.EnvelopeProtocol(),
            )
            child = sockethub.SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=sockethub.EnvelopeProtocol(),
            )
            child.channel("c:{x}")
            route.channel("a:{b}")
            route.children.append(child)
            other = sockethub.SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=sockethub.EnvelopeProtocol(),
            )
            other.channel("o:{x}")
            route.children.append(other)
            """,
        )

    def test_merge_of_pathless_child_used_elsewhere_is_removed_with_a_note(self) -> None:
        # 0.1 served the copy at the parent's own path, where the parent shadowed it: its
        # channels were unreachable, so the hub serves nothing in its place either.
        self.check(
            """
            import sockethub

            route = sockethub.WebSocketRoute("/ws")
            child = sockethub.WebSocketRoute()
            child.channel("c:{x}")
            route.channel("a:{b}")
            route.merge(child)
            elsewhere = [child]
            """,
            """
            import sockethub

            route = sockethub.SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=sockethub.EnvelopeProtocol(),
            )
            child = sockethub.SocketHub(
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=sockethub.EnvelopeProtocol(),
            )
            child.channel("c:{x}")
            route.channel("a:{b}")
            # TODO(sockethub-migrate): `route.merge(child)` was removed. In 0.1 a route merged at `route`'s own
            #   path was a separate route that `route` shadowed, so its channels were unreachable; the hub
            #   serves nothing in its place either. To serve them on `route`'s connections, write
            #   `route.include(child)`. See MIGRATION.md#a-merge-at-the-parents-own-path.
            elsewhere = [child]
            """,
        )

    def test_removed_merge_at_the_end_of_a_block_keeps_its_note(self) -> None:
        out = migrate(
            self.make_fixture_data(
                """
                import sockethub

                SHARED = sockethub.WebSocketRoute()
                SHARED.channel("c:{x}")


                def build(extra):
                    r = sockethub.WebSocketRoute("/x")
                    r.channel("a:{b}")
                    extra.append(r)
                    r.merge(SHARED)


                other = [SHARED]
                """
            )
        )
        assert "r.merge(SHARED)" not in out.replace("`r.merge(SHARED)`", "")
        assert "    # TODO(sockethub-migrate): `r.merge(SHARED)` was removed." in out
        assert "\n\nother = [SHARED]\n" in out
        assert migrate(out) == out  # idempotent
        compile(out, "<migrated>", "exec")

    def test_merge_with_path_prefix_becomes_a_child_at_the_0_1_path(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            main = WebSocketRoute("/ws")
            child = WebSocketRoute("/child")
            main.channel("m:{x}")
            child.channel("c:{x}")
            main.merge(child, parent_prefix="/api")
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            main = SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            child = SocketHub(
                "/ws/child",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            main.channel("m:{x}")
            child.channel("c:{x}")
            main.children.append(child)
            """,
        )

    def test_merge_of_pathless_child_with_hooks_becomes_a_shadowed_child(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            main = WebSocketRoute("/ws")
            child = WebSocketRoute("")
            main.channel("m:{x}")

            @child.on_connect
            async def c(sock):
                pass

            main.merge(child)
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            main = SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            child = SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            main.channel("m:{x}")

            @child.on_connect
            async def c(sock):
                pass

            main.children.append(child)
            """,
        )

    def test_merge_child_with_hooks_used_elsewhere_is_flagged(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            main = WebSocketRoute("/ws")
            child = WebSocketRoute("")
            main.channel("m:{x}")

            @child.on_connect
            async def c(sock):
                pass

            main.merge(child)
            served = [child]
            """,
            """
            from sockethub import WebSocketRoute

            main = WebSocketRoute("/ws")
            child = WebSocketRoute("")
            main.channel("m:{x}")

            @child.on_connect
            async def c(sock):
                pass

            # TODO(sockethub-migrate): not converted to `main.include(...)`: a merged route has its own
            #   on_connect/on_disconnect hooks. In 0.1 `merge` copied whole routes (own paths and hooks;
            #   parent_prefix was removed from their paths); SocketHub.include(*hubs, parent_prefix=...) copies
            #   only channels onto this connection with a topic prefix. Migrate these routes by hand
            #   (Starlette's Mount(prefix, routes=[hub]) serves a hub under a path prefix). See
            #   MIGRATION.md#sub-and-merge-trees.
            main.merge(child)
            served = [child]
            """,
        )

    def test_sub_routes_are_flagged(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            s = WebSocketRoute("/s")
            s.sub("/child")
            s.channel("x:{y}")
            """,
            """
            from sockethub import WebSocketRoute

            s = WebSocketRoute("/s")
            # TODO(sockethub-migrate): `s.sub(...)` makes child routes, which SocketHub does not have; `s` stays
            #   a deprecated 0.1 WebSocketRoute until you split it into separate SocketHub routes by hand. See
            #   MIGRATION.md#sub-and-merge-trees.
            s.sub("/child")
            s.channel("x:{y}")
            """,
        )


class TestFormatting(MigrateTest):
    def test_comments_and_odd_formatting_preserved_byte_for_byte(self) -> None:
        before = (
            "#!/usr/bin/env python\n"
            "# -*- coding: utf-8 -*-\n"
            '"""Module docstring."""\n'
            "import sockethub   # the lib\n"
            "\n\n"
            "# leading comment\n"
            "route = sockethub.WebSocketRoute(  # keep me\n"
            '    "/ws",   # path\n'
            "    middlewares = None ,\n"
            ")\n"
            'route.channel( "a:{b}" )   # trailing\n'
            "x = [1,2 ,3]  # unrelated, oddly formatted\n"
            "\n"
            "@route.handler\n"
            "async def h(): return None\n"
            "\n"
            "\n"
            "# end\n"
        )
        expected = (
            before.replace("sockethub.WebSocketRoute", "sockethub.SocketHub")
            .replace("@route.handler\nasync def h(): return None\n\n", "")
            .replace(
                "    middlewares = None ,\n",
                '    middlewares = None ,\n    ordering="connection",\n    per_join_sockets=False,\n'
                '    error_policy="raise",\n    protocol=sockethub.EnvelopeProtocol(),\n',
            )
        )
        assert migrate(before) == expected
        assert migrate(expected) == expected

    def test_crlf_line_endings_preserved(self) -> None:
        before = (
            "from sockethub import WebSocketRoute\r\n"
            "\r\n"
            'r = WebSocketRoute("/r/{x}")\r\n'
            "\r\n"
            "@r.handler\r\n"
            "async def h(x: int):\r\n"
            "    pass\r\n"
            "\r\n"
            "@r.on_connect\r\n"
            "async def c(sock, x: int):\r\n"
            "    # real code\r\n"
            "    print(x)\r\n"
        )
        after = migrate(before)
        assert "\n" not in after.replace("\r\n", "")
        assert (
            after == "from sockethub import EnvelopeProtocol, SocketHub\r\n"
            "\r\n"
            "r = SocketHub(\r\n"
            '    "/r/{x}",\r\n'
            '    ordering="connection",\r\n'
            "    per_join_sockets=False,\r\n"
            '    error_policy="raise",\r\n'
            "    protocol=EnvelopeProtocol(),\r\n"
            ")\r\n"
            "\r\n"
            "@r.on_connect\r\n"
            "async def c(sock, x: int):\r\n"
            "    # real code\r\n"
            "    print(x)\r\n"
        )
        assert migrate(after) == after

    def test_todo_not_duplicated_on_second_run(self) -> None:
        code = """
            from sockethub import WebSocketRoute

            s = WebSocketRoute("/s")
            s.sub("/child")
            s.channel("x:{y}")
            """
        once = migrate(self.make_fixture_data(code))
        assert once.count("TODO(sockethub-migrate)") == 1
        assert migrate(once) == once


def test_typical_app_output_defines_every_name() -> None:
    out = migrate(MigrateTest.make_fixture_data(TYPICAL_BEFORE))
    cst.parse_module(out)
    assert undefined_names(out) == set()
    assert "WebSocketRoute" not in out


class TestMore(MigrateTest):
    def test_other_objects_merge_and_handler_untouched(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            hub = WebSocketRoute("/ws")
            hub.channel("a:{b}")
            settings = {}.copy()
            settings.merge(other)
            logger.handler(record)
            url.params.merge({"a": 1})

            @bot.handler
            def on_message(msg):
                pass

            @bot.on_connect
            async def hello(client, session):
                pass
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            hub = SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            hub.channel("a:{b}")
            settings = {}.copy()
            settings.merge(other)
            logger.handler(record)
            url.params.merge({"a": 1})

            @bot.handler
            def on_message(msg):
                pass

            @bot.on_connect
            async def hello(client, session):
                pass
            """,
        )

    def test_optional_query_parameters(self) -> None:
        self.check(
            """
            from typing import Optional
            from sockethub import WebSocketRoute

            r = WebSocketRoute("/r")

            @r.handler
            async def h(page: int | None, name: Optional[str]):
                pass

            @r.on_connect
            async def c(sock, page: int | None, name: Optional[str]):
                print(page, name)
            """,
            """
            from typing import Optional
            from sockethub import EnvelopeProtocol, SocketHub

            r = SocketHub(
                "/r",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )

            @r.on_connect
            async def c(sock, page: int | None, name: Optional[str]):
                print(page, name)
            """,
        )

    def test_path_convertors(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            r = WebSocketRoute("/r/{a:int}/{b:float}/{c:path}/{d:uuid}")

            @r.handler
            async def h(a: float, b: float, c: str, d: str):
                pass

            @r.on_connect
            async def c(sock, a: float, b: float, c: str, d: str):
                print(a, b, c, d)
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            r = SocketHub(
                "/r/{a:int}/{b:float}/{c:path}/{d:uuid}",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )

            @r.on_connect
            async def c(sock, a: float, b: float, c: str, d: str):
                print(a, b, c, d)
            """,
        )

    def test_int_annotation_on_float_convertor_is_kept_for_the_hub(self) -> None:
        before = """
            from sockethub import WebSocketRoute

            r = WebSocketRoute("/r/{x:float}")

            @r.handler
            async def h(x: int):
                pass

            @r.on_connect
            async def c(sock, x: int):
                print(x)
            """
        out = migrate(self.make_fixture_data(before))
        # The hub converts connection parameters by 0.1's rules (the same ParamPlan).
        assert "r = SocketHub(" in out and "async def c(sock, x: int):" in out
        assert "TODO" not in out

    def test_handler_call_inside_a_one_line_suite_blocks(self) -> None:
        out = migrate(
            self.make_fixture_data(
                """
                from sockethub import WebSocketRoute

                r = WebSocketRoute("/r")
                r.channel("a:{b}")
                if True: r.handler(print)
                """
            )
        )
        assert "r = WebSocketRoute(" in out and "if True: r.handler(print)" in out
        assert "`r.handler` is used in a way this tool cannot remove safely" in out


class TestRoutesFromOtherModules(MigrateTest):
    def test_handler_and_keyword_hooks_on_an_imported_route_are_flagged(self) -> None:
        self.check(
            """
            from app.routes import ws_route
            from sockethub import ISocket

            @ws_route.handler
            async def handler(room: str) -> None:
                pass

            @ws_route.on_connect
            async def connect(sock: ISocket, room: str) -> None:
                print(room)

            @ws_route.on_disconnect
            async def bye(sock) -> None:
                pass
            """,
            """
            from app.routes import ws_route
            from sockethub import ISocket

            # TODO(sockethub-migrate): `ws_route` is not built in this module, so this tool cannot tell whether
            #   it is a 0.1 WebSocketRoute. Once it is a SocketHub, delete this handler (SocketHub has none) and
            #   declare its parameters on the hooks, with its annotations and defaults. See
            #   MIGRATION.md#routes-built-in-another-module.
            @ws_route.handler
            async def handler(room: str) -> None:
                pass

            # TODO(sockethub-migrate): `connect` takes keyword parameters, which 0.1 filled from the handler's
            #   signature; a SocketHub fills them by the hook's own annotations. `ws_route` is built in another
            #   module: when it becomes a SocketHub, give each the handler's annotation and default here. See
            #   MIGRATION.md#routes-built-in-another-module.
            @ws_route.on_connect
            async def connect(sock: ISocket, room: str) -> None:
                print(room)

            @ws_route.on_disconnect
            async def bye(sock) -> None:
                pass
            """,
        )

    def test_plain_hub_hooks_from_elsewhere_are_not_flagged(self) -> None:
        self.unchanged(
            """
            from app.routes import hub
            from sockethub import ISocket

            @hub.on_connect
            async def connect(sock: ISocket, retries: int = 3) -> None:
                pass

            room = hub.channel("room:{id}")
            """
        )
