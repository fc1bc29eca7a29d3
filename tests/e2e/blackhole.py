"""A TCP proxy that injects network faults: a partition, latency, dropped connections.

`cut()` holds every byte in both directions, and every new connection, without
closing a socket: the client's requests hang, as behind a dropped route. Bytes
keep being read while cut and are delivered in order by `resume()`, so whatever
the client had in flight reaches the server late, even after the client died.

`latency` delays every chunk on its way to the server (a slow link); `reset()`
drops every open connection at once, watches included (a load balancer or NAT
forgetting them).

TLS passes through untouched: the proxy only moves bytes.
"""

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["Blackhole"]

T = TypeVar("T")
CHUNK = 64 * 1024


class Blackhole:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._open: asyncio.Event = self._call(self._make_event())
        self._server: asyncio.Server = self._call(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port: int = self._server.sockets[0].getsockname()[1]
        self.held_bytes = 0  # bytes that waited while cut, and were delivered late (or never)
        self.connections = 0
        self.latency = 0.0  # seconds each chunk waits on its way to the server
        self.resets = 0  # connections dropped by reset()
        self.delivered_bytes = 0  # bytes from the server delivered to the client
        self._live: set[asyncio.Task[None]] = set()

    def cut(self) -> None:
        """Stop forwarding, in both directions and for new connections; close nothing."""
        self._loop.call_soon_threadsafe(self._open.clear)

    def resume(self) -> None:
        """Deliver what was held, in order, and forward again."""
        self._loop.call_soon_threadsafe(self._open.set)

    def reset(self) -> None:
        """Drop every open connection; new ones are accepted as before."""

        async def drop() -> int:
            tasks = list(self._live)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            return len(tasks)

        self.resets += self._call(drop())

    def close(self) -> None:
        async def shutdown() -> None:
            self._server.close()
            # Until none is left: a connection accepted while the first ones were being
            # cancelled has a task of its own, and a task left pending when the loop closes
            # leaves its sockets to the garbage collector (a ResourceWarning: an error here).
            for _ in range(10):
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                if not tasks:
                    return
                for task in tasks:
                    task.cancel()
                await asyncio.wait(tasks, timeout=2)

        self._call(shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    @staticmethod
    async def _make_event() -> asyncio.Event:
        event = asyncio.Event()
        event.set()
        return event

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._live.add(task)
        try:
            await self._forward(client_r, client_w)
        except asyncio.CancelledError:
            # Dropped by reset() or close(): a connection task that ends cancelled is an
            # error to asyncio's server, one that returns is a connection that ended.
            pass
        finally:
            self._live.discard(task)

    async def _forward(
        self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> None:
        to_server: asyncio.Queue[bytes] = asyncio.Queue()
        to_client: asyncio.Queue[bytes] = asyncio.Queue()
        pumps = [asyncio.create_task(self._read(client_r, to_server))]
        server_w: asyncio.StreamWriter | None = None
        try:
            await self._open.wait()  # a partitioned connect hangs
            server_r, server_w = await asyncio.open_connection(*self._upstream)
            pumps += [
                asyncio.create_task(self._write(to_server, server_w, upstream=True)),
                asyncio.create_task(self._read(server_r, to_client)),
                asyncio.create_task(self._write(to_client, client_w)),
            ]
            await asyncio.gather(*pumps)
        except OSError:
            pass
        finally:
            # Close before the first await: a second cancel (the proxy shutting down) may
            # interrupt this block at any await.
            writers = [w for w in (client_w, server_w) if w is not None]
            for pump in pumps:
                pump.cancel()
            for w in writers:
                w.close()
            await asyncio.gather(*pumps, return_exceptions=True)
            for w in writers:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(w.wait_closed(), timeout=1)

    async def _read(self, source: asyncio.StreamReader, queue: "asyncio.Queue[bytes]") -> None:
        while True:
            try:
                data = await source.read(CHUNK)
            except OSError:
                data = b""
            if not self._open.is_set():
                self.held_bytes += len(data)
            await queue.put(data)
            if not data:
                return

    async def _write(
        self, queue: "asyncio.Queue[bytes]", sink: asyncio.StreamWriter, *, upstream: bool = False
    ) -> None:
        while True:
            data = await queue.get()
            if upstream and self.latency:
                await asyncio.sleep(self.latency)
            await self._open.wait()
            if sink.is_closing():  # the other side is gone: nothing more to deliver
                return
            if not data:
                with contextlib.suppress(OSError):
                    sink.write_eof()
                return
            sink.write(data)
            if not upstream:
                self.delivered_bytes += len(data)
            with contextlib.suppress(OSError):
                await sink.drain()
