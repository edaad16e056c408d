"""The async front end: long-polls and event streams wait on the event loop, not in threads.

Every request goes to the Flask app, which runs in a pool of threads (a2wsgi). For a
long-poll (``/orders/{id}/wait``) and an event stream (``/orders/{id}/events``,
``/events``) the request is marked so the Flask view, after doing auth, rate limiting,
validation and the first read, answers with a plan instead of blocking (see
``web/api/defer.py``). This module then waits on an ``asyncio.Event`` that the notifier
sets, so a thousand waiters cost a thousand small objects, not a thousand threads.

Safety net: one task re-checks, in a single query per second, every order someone
waits on (``models.notify.settled_orders``), so a lost notification costs at most one
second, never a code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from typing import Any

from a2wsgi import WSGIMiddleware
from flask import Flask
from werkzeug.test import EnvironBuilder, run_wsgi_app

from models.notify import LocalNotifier, settled_orders

from .api.defer import DEFER_HEADER, DEFER_STREAM, DEFER_WAIT, INTERNAL
from .api.events import KEEPALIVE_SECONDS, MAX_STREAM_SECONDS, STREAM_HEADERS, collect, start_state

log = logging.getLogger("otpinbox.web")

DEFERRABLE = re.compile(r"^/api/v1/(orders/[^/]+/(wait|events)|events)$")
RECHECK_SECONDS = 1.0

Send = Any
Receive = Any


class RealtimeApp:
    """ASGI app: Flask for everything, with waits and streams taken off its threads."""

    def __init__(self, flask_app: Flask, *, threads: int = 32) -> None:
        self.flask = flask_app
        self.wsgi = WSGIMiddleware(flask_app, workers=threads)
        self.notifier: LocalNotifier = flask_app.extensions["otpinbox.notifier"]
        self.db = flask_app.extensions["otpinbox.db"]
        self.waiting: dict[int, set[asyncio.Event]] = {}
        self._recheck: asyncio.Task[None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] == "http" and scope["method"] == "GET" and DEFERRABLE.match(scope["path"]):
            await self._deferrable(scope, receive, send)
            return
        await self.wsgi(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._recheck is not None:
                    self._recheck.cancel()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ------------------------------------------------------------ calling Flask

    def _call_flask(self, scope: dict[str, Any], path: str, marks: dict[str, Any]):  # type: ignore[no-untyped-def]
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        client = scope.get("client") or ("127.0.0.1", 0)
        builder = EnvironBuilder(
            path=path,
            method="GET",
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            environ_overrides={"REMOTE_ADDR": client[0], **marks},
        )
        try:
            app_iter, status, response_headers = run_wsgi_app(
                self.flask.wsgi_app, builder.get_environ(), buffered=True
            )
            body = b"".join(app_iter)
        finally:
            builder.close()
        return int(status.split(" ", 1)[0]), list(response_headers.items()), body

    async def _send_plain(self, send: Send, status: int, headers: list, body: bytes) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _deferrable(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        marks = {DEFER_WAIT: True, DEFER_STREAM: True}
        status, headers, body = await asyncio.to_thread(
            self._call_flask, scope, scope["path"], marks
        )
        kind = next((v for k, v in headers if k.lower() == DEFER_HEADER.lower()), None)
        if kind is None:
            await self._send_plain(send, status, headers, body)
        elif kind == "wait":
            await self._wait(scope, send, json.loads(body))
        else:
            await self._stream(receive, send, json.loads(body))

    # ------------------------------------------------------------ long-poll

    async def _wait(self, scope: dict[str, Any], send: Send, plan: dict[str, Any]) -> None:
        order_id, channel = int(plan["order_id"]), plan["channel"]
        event = asyncio.Event()
        loop = asyncio.get_running_loop()

        def wake(_: str) -> None:
            loop.call_soon_threadsafe(event.set)

        self.notifier.subscribe(channel, wake)
        self.waiting.setdefault(order_id, set()).add(event)
        self._ensure_recheck()
        try:
            if self.notifier.version(channel) == plan["version"]:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=float(plan["timeout"]))
        finally:
            self.notifier.unsubscribe(channel, wake)
            waiters = self.waiting.get(order_id)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self.waiting[order_id]
        # The answer is the order as GET /orders/{id} shows it now (expired if due).
        path = scope["path"].rsplit("/", 1)[0]
        status, headers, body = await asyncio.to_thread(
            self._call_flask, scope, path, {INTERNAL: True}
        )
        await self._send_plain(send, status, headers, body)

    def _ensure_recheck(self) -> None:
        if self._recheck is None or self._recheck.done():
            self._recheck = asyncio.get_running_loop().create_task(self._recheck_loop())

    async def _recheck_loop(self) -> None:
        while self.waiting:
            await asyncio.sleep(RECHECK_SECONDS)
            ids = list(self.waiting)
            try:
                settled = await asyncio.to_thread(self._settled, ids)
            except RuntimeError:  # the loop is shutting down
                return
            except Exception:  # the next round retries
                log.exception("waiter re-check failed")
                continue
            for order_id in settled:
                for event in self.waiting.get(order_id, ()):
                    event.set()

    def _settled(self, ids: list[int]) -> list[int]:
        with self.db.read() as session:
            return settled_orders(session, ids)

    # ------------------------------------------------------------ event streams

    async def _stream(self, receive: Receive, send: Send, plan: dict[str, Any]) -> None:
        channel = plan["channel"]
        state, opening = await asyncio.to_thread(
            start_state, self.db, int(plan["user_id"]), plan["order_id"]
        )
        event = asyncio.Event()
        loop = asyncio.get_running_loop()
        gone = asyncio.Event()

        def wake(_: str) -> None:
            loop.call_soon_threadsafe(event.set)

        async def watch_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()
            event.set()

        watcher = loop.create_task(watch_disconnect())
        self.notifier.subscribe(channel, wake)
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (k.lower().encode(), v.encode()) for k, v in STREAM_HEADERS.items()
                    ],
                }
            )
            await self._chunk(send, opening)
            deadline = loop.time() + MAX_STREAM_SECONDS
            while not gone.is_set() and loop.time() < deadline:
                try:
                    await asyncio.wait_for(event.wait(), timeout=KEEPALIVE_SECONDS)
                except TimeoutError:
                    await self._chunk(send, [": keepalive\n\n"])
                if gone.is_set():
                    break
                event.clear()
                frames = await asyncio.to_thread(collect, self.db, state)
                await self._chunk(send, frames)
                if frames and frames[-1].startswith("event: end"):
                    break
            if not gone.is_set():
                await send({"type": "http.response.body", "body": b""})
        finally:
            self.notifier.unsubscribe(channel, wake)
            watcher.cancel()

    async def _chunk(self, send: Send, frames: list[str]) -> None:
        if frames:
            body = "".join(frames).encode()
            await send({"type": "http.response.body", "body": body, "more_body": True})


def create_asgi_app(flask_app: Flask, *, threads: int = 32) -> RealtimeApp:
    return RealtimeApp(flask_app, threads=threads)
