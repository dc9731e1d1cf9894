"""Before/after cases for what the codemod must leave alone and what it always writes."""

from __future__ import annotations

from .helpers import MigrateTest, migrate


class TestModulesWithoutSockethub(MigrateTest):
    def test_lookalike_module_is_never_touched(self) -> None:
        # Mentions sockethub in a comment and a string, has 0.1-shaped calls on local
        # objects and a local WebSocketRoute: it imports nothing from sockethub.
        self.unchanged(
            '''
            """Notes on porting: `from sockethub import WebSocketRoute` used to be..."""
            # sockethub 0.1 style: route = WebSocketRoute("/ws"); route.handler(noop)
            SAMPLE = "from sockethub import WebSocketRoute\\nr = WebSocketRoute('/ws')"


            class WebSocketRoute:
                def __init__(self, path: str) -> None:
                    self.path = path

                def handler(self, f):
                    return f

                def channel(self, pattern):
                    return self

                def on_connect(self, f):
                    return f


            route = WebSocketRoute("/ws")
            room = route.channel("room:{id}")


            class ISocket: ...


            @route.on_connect
            async def connect(sock: ISocket, user: str, **params) -> None:
                pass


            @route.handler
            async def handler(user: str) -> None:
                return None


            def noop() -> None: ...


            route.handler(noop)
            '''
        )

    def test_foreign_route_objects_are_not_flagged_without_a_sockethub_import(self) -> None:
        self.unchanged(
            """
            # sockethub is mentioned here only
            from app.routes import chat

            @chat.handler
            async def handle(room: str) -> None:
                return None

            @chat.on_connect
            async def connect(sock, room: str) -> None:
                pass
            """
        )


class TestHandWrittenHubs(MigrateTest):
    def test_hub_with_kwargs_hooks_is_silent(self) -> None:
        self.unchanged(
            """
            from typing import Any

            from sockethub import ISocket, SocketHub

            hub = SocketHub("/ws/{room}", ordering="connection", per_join_sockets=False)
            chat = hub.channel("chat:{id}")

            @hub.on_connect
            async def connect(sock: ISocket, user: str, **params: Any) -> None:
                await sock.allow_if(user != "mallory")

            @hub.on_disconnect
            async def disconnect(sock: ISocket, **params: Any) -> None:
                pass
            """
        )

    def test_hub_from_submodule_alias_and_factory_is_silent(self) -> None:
        self.unchanged(
            """
            import sockethub.hub as sh

            def make() -> sh.SocketHub:
                hub = sh.SocketHub("/ws")

                @hub.on_connect
                async def connect(sock, **kw) -> None:
                    pass

                return hub

            class App:
                hub = sh.SocketHub("/a")

            @App.hub.on_connect
            async def connect(sock, **kw) -> None:
                pass
            """
        )


class TestFacadeOrdering(MigrateTest):
    def test_migrated_hub_keeps_the_facade_ordering(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            route = WebSocketRoute("/ws", middlewares=[])
            route.channel("a:{b}")
            bare = WebSocketRoute()
            bare.channel("c:{d}")
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            route = SocketHub(
                "/ws",
                middlewares=[],
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            route.channel("a:{b}")
            bare = SocketHub(
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            bare.channel("c:{d}")
            """,
        )

    def test_one_argument_per_line_stays_one_per_line(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            route = WebSocketRoute(
                "/ws",  # the path
                middlewares=[],  # none
            )
            route.channel("a:{b}")
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            route = SocketHub(
                "/ws",  # the path
                middlewares=[],  # none
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            route.channel("a:{b}")
            """,
        )


def test_hub_output_is_a_fixed_point() -> None:
    code = 'from sockethub import SocketHub\n\nr = SocketHub("/ws", ordering="topic")\nr.channel("a")\n'
    assert migrate(code) == code


class TestSharedDummyHandler(MigrateTest):
    def test_noop_passed_to_several_routes_is_removed_with_its_last_use(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            a = WebSocketRoute("/a")
            b = WebSocketRoute("/b")
            a.channel("x:{y}")
            b.channel("x:{y}")


            async def noop() -> None:
                return None


            a.handler(noop)
            b.handler(noop)
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            a = SocketHub(
                "/a",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            b = SocketHub(
                "/b",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            a.channel("x:{y}")
            b.channel("x:{y}")
            """,
        )

    def test_noop_still_used_elsewhere_is_kept(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            a = WebSocketRoute("/a")
            a.channel("x:{y}")


            async def noop() -> None:
                return None


            a.handler(noop)
            CALLBACKS = [noop]
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            a = SocketHub(
                "/a",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            a.channel("x:{y}")


            async def noop() -> None:
                return None


            CALLBACKS = [noop]
            """,
        )

    def test_kwargs_constructor_is_flagged(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            a = WebSocketRoute("/a", **OPTIONS)
            a.channel("x:{y}")
            """,
            """
            from sockethub import SocketHub

            # TODO(sockethub-migrate): pass ordering="connection", per_join_sockets=False, error_policy="raise",
            #   protocol=EnvelopeProtocol() to this SocketHub (what the 0.1 facade ran with) unless the **
            #   mapping already holds them. See MIGRATION.md#facade-ordering.
            a = SocketHub("/a", **OPTIONS)
            a.channel("x:{y}")
            """,
        )


class TestCommentsSurvive(MigrateTest):
    def test_banner_above_a_removed_handler_stays(self) -> None:
        self.check(
            """
            from sockethub import ISocket, WebSocketRoute

            route = WebSocketRoute("/ws")
            room = route.channel("room:{id}")


            # ---- presence ----
            @route.handler
            async def handler() -> None:
                return None


            @room.on_join
            async def join(params: dict, sock: ISocket) -> None:
                pass


            def build():
                inner = WebSocketRoute("/inner")
                inner.channel("a:{b}")
                # ---- required by 0.1 ----
                inner.handler(lambda: None)


            # ---- the end ----
            def end() -> None: ...
            """,
            """
            from sockethub import EnvelopeProtocol, ISocket, SocketHub

            route = SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            room = route.channel("room:{id}")


            # ---- presence ----


            @room.on_join
            async def join(params: dict, sock: ISocket) -> None:
                pass


            def build():
                inner = SocketHub(
                    "/inner",
                    ordering="connection",
                    per_join_sockets=False,
                    error_policy="raise",
                    protocol=EnvelopeProtocol(),
                )
                inner.channel("a:{b}")
                # ---- required by 0.1 ----


            # ---- the end ----
            def end() -> None: ...
            """,
        )

    def test_banner_above_a_removed_last_statement_stays(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            route = WebSocketRoute("/ws")
            route.channel("room:{id}")

            # ---- registration ----
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
            route.channel("room:{id}")

            # ---- registration ----
            """,
        )

    def test_comments_inside_a_rewritten_import_are_kept(self) -> None:
        self.check(
            """
            from sockethub import (
                ISocket,  # the socket wrapper
                WebSocketRoute,  # the 0.1 route
            )

            route = WebSocketRoute("/ws")
            route.channel("room:{id}")
            """,
            """
            from sockethub import (
                EnvelopeProtocol,
                ISocket,  # the socket wrapper
                SocketHub,  # the 0.1 route
            )

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

    def test_comments_kept_when_the_old_name_stays_in_use(self) -> None:
        self.check(
            """
            from sockethub import (
                ISocket,  # the socket wrapper
                WebSocketRoute,  # both kinds of route
            )

            route = WebSocketRoute("/ws")
            route.channel("room:{id}")
            raw = WebSocketRoute("/raw")

            @raw.endpoint
            async def echo(sock: ISocket) -> None:
                await sock.accept()
            """,
            """
            from sockethub import (
                EnvelopeProtocol,
                ISocket,  # the socket wrapper
                SocketHub,
                WebSocketRoute,  # both kinds of route
            )

            route = SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            route.channel("room:{id}")
            raw = WebSocketRoute("/raw")

            @raw.endpoint
            async def echo(sock: ISocket) -> None:
                await sock.accept()
            """,
        )


class TestFacadeInternals(MigrateTest):
    def test_isinstance_of_a_migrated_route_is_rewritten(self) -> None:
        self.check(
            """
            from sockethub.websocket import WebSocketRoute, WSManagedEndpoint

            route = WebSocketRoute("/ws")
            route.channel("a:{b}")
            assert isinstance(route.ws_endpoint, WSManagedEndpoint)
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
            assert isinstance(route, SocketHub)
            """,
        )

    def test_other_looks_inside_the_facade_are_flagged(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute
            from sockethub.websocket import WSManagedEndpoint

            route = WebSocketRoute("/ws")
            route.channel("a:{b}")
            endpoint = route.ws_endpoint


            def is_managed(r) -> bool:
                return isinstance(r.ws_endpoint, WSManagedEndpoint)


            class Custom(WSManagedEndpoint):
                pass
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub
            from sockethub.websocket import WSManagedEndpoint

            route = SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            route.channel("a:{b}")
            # TODO(sockethub-migrate): `route.ws_endpoint` is the 0.1 facade's; a SocketHub has none (test
            #   `isinstance(route, SocketHub)` instead). See MIGRATION.md#facade-internals.
            endpoint = route.ws_endpoint


            def is_managed(r) -> bool:
                # TODO(sockethub-migrate): `r.ws_endpoint` is the 0.1 facade's; a SocketHub has none (test
                #   `isinstance(r, SocketHub)` instead). See MIGRATION.md#facade-internals.
                return isinstance(r.ws_endpoint, WSManagedEndpoint)


            # TODO(sockethub-migrate): `Custom` subclasses the 0.1 facade's WSManagedEndpoint, which 0.3 removes
            #   and SocketHub does not use; move its behaviour into SocketHub hooks or a route middleware. See
            #   MIGRATION.md#facade-internals.
            class Custom(WSManagedEndpoint):
                pass
            """,
        )

    def test_low_level_route_internals_are_left_alone(self) -> None:
        self.unchanged(
            """
            from sockethub import WebSocketRoute

            raw = WebSocketRoute("/raw")

            @raw.endpoint
            async def echo(sock) -> None:
                await sock.accept()

            assert raw.ws_endpoint is not None and raw.children == []
            """
        )


class TestHookParametersOnTheHub(MigrateTest):
    def test_handler_parameters_move_into_the_hooks(self) -> None:
        self.check(
            """
            from typing import Any

            from sockethub import ISocket, WebSocketRoute

            ws = WebSocketRoute("/ws/{room}")
            ws.channel("chat:{id}")


            @ws.on_connect
            async def connect(sock: ISocket, room, user, **rest: Any) -> None:
                await sock.allow_if(user != "mallory")


            @ws.on_disconnect
            async def disconnect(sock: ISocket, **params: Any) -> None:
                print(params["user"], params["limit"])


            @ws.handler
            async def handle(room: str, user: str, limit: int = 10) -> None:
                return None
            """,
            """
            from typing import Any

            from sockethub import EnvelopeProtocol, ISocket, SocketHub

            ws = SocketHub(
                "/ws/{room}",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            ws.channel("chat:{id}")


            @ws.on_connect
            async def connect(sock: ISocket, room: str, user: str, **rest: Any) -> None:
                await sock.allow_if(user != "mallory")


            @ws.on_disconnect
            async def disconnect(sock: ISocket, room: str, user: str, limit: int = 10, **params: Any) -> None:
                params["room"] = room
                params["user"] = user
                params["limit"] = limit
                print(params["user"], params["limit"])
            """,
        )

    def test_a_handler_without_hooks_becomes_the_validating_on_connect(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            ws = WebSocketRoute("/ws")
            ws.channel("chat:{id}")


            @ws.handler
            async def handle(token: str, page: int = 1) -> None:
                return None
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            ws = SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            ws.channel("chat:{id}")


            @ws.on_connect
            async def handle(sock, token: str, page: int = 1) -> None:
                return None
            """,
        )

    def test_kwargs_hook_that_ignores_them_gets_the_undeclared_ones(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            ws = WebSocketRoute("/ws")
            ws.channel("chat:{id}")


            @ws.on_connect
            async def connect(sock, **kw) -> None:
                pass


            @ws.handler
            async def handle(token: str) -> None:
                return None
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            ws = SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            ws.channel("chat:{id}")


            @ws.on_connect
            async def connect(sock, token: str, **kw) -> None:
                pass
            """,
        )

    def test_a_signature_too_long_for_the_line_is_one_parameter_per_line(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            ws = WebSocketRoute("/ws/{organisation}")
            ws.channel("chat:{id}")


            @ws.on_disconnect
            async def disconnect(sock, **params) -> None:
                print(params)


            @ws.handler
            async def handle(organisation: str, username: str, conversation_limit: int = 10) -> None:
                return None
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            ws = SocketHub(
                "/ws/{organisation}",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            ws.channel("chat:{id}")


            @ws.on_disconnect
            async def disconnect(
                sock,
                organisation: str,
                username: str,
                conversation_limit: int = 10,
                **params,
            ) -> None:
                params["organisation"] = organisation
                params["username"] = username
                params["conversation_limit"] = conversation_limit
                print(params)
            """,
        )


class TestSubTrees(MigrateTest):
    def test_sub_children_become_hubs_at_the_path_0_1_served(self) -> None:
        self.check(
            """
            from sockethub import WebSocketRoute

            api = WebSocketRoute("ws")
            api.channel("top:{x}")
            v1 = api.sub("v1")
            v1.channel("room:{id}")
            deep = v1.sub("/deep")
            deep.channel("d:{id}")
            """,
            """
            from sockethub import EnvelopeProtocol, SocketHub

            api = SocketHub(
                "/ws",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            api.channel("top:{x}")
            v1 = SocketHub(
                "/ws/v1",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            api.children.append(v1)  # 0.1's api.sub(...)
            v1.channel("room:{id}")
            deep = SocketHub(
                "/ws/v1/deep",
                ordering="connection",
                per_join_sockets=False,
                error_policy="raise",
                protocol=EnvelopeProtocol(),
            )
            v1.children.append(deep)  # 0.1's v1.sub(...)
            deep.channel("d:{id}")
            """,
        )

    def test_a_child_that_cannot_migrate_keeps_its_parent_on_0_1(self) -> None:
        out = migrate(
            self.make_fixture_data(
                """
                from sockethub import WebSocketRoute

                api = WebSocketRoute("/ws")
                api.channel("top:{x}")
                v1 = api.sub("v1")
                v1.channel("room:{id}")
                h = v1.handler(lambda: None)
                """
            )
        )
        assert 'api = WebSocketRoute("/ws")' in out and 'v1 = api.sub("v1")' in out
        assert out.count("TODO(sockethub-migrate)") == 2
        assert migrate(out) == out
