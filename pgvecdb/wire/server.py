"""The PostgreSQL-protocol server: a listening socket, one asyncio.Protocol per client.

The event loop only moves bytes: ``ClientProtocol`` frames what arrives, answers the
startup negotiation (SSL/GSS refused with 'N', cancel requests) and queues the rest for
its ``ConnectionHandler``, whose batches run through the ``BatchRunner`` (quick searches
inline, then a lone client's socket is polled for its next query: ``busy_poll``). Cancel
keys are kept by ``CancelRegistry``. uvloop is used when installed.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
import socket
import time
from typing import TYPE_CHECKING, Callable

from pgvecdb.errors import PgError
from pgvecdb.wire.busy_poll import DEFAULT_WINDOW_US, LOOP_TURN_EVERY, SocketPoller, poller_for, useful_here
from pgvecdb.wire.connection import ConnectionHandler, Item, admin_shutdown
from pgvecdb.wire.output import TransportOutput
from pgvecdb.wire.protocol import MessageReader, RawMessage
from pgvecdb.wire.runner import BatchRunner
from pgvecdb.wire.startup import (
    CancelRequest,
    GSSENCRequest,
    SSLRequest,
    StartupMessage,
    fatal,
    parse_startup_packet,
)

if TYPE_CHECKING:
    from pgvecdb.database import Database
    from pgvecdb.sql.session import Session

log = logging.getLogger(__name__)

# While a batch runs, a connection buffers at most this much further input before it
# stops reading from its socket (COPY data arriving faster than it is stored).
MAX_PENDING_INPUT = 16 * 1024 * 1024
# How long a stopping server waits for running statements to notice their cancellation.
SHUTDOWN_GRACE_SECONDS = 10.0
SHUTDOWN_CANCEL_INTERVAL = 0.05


class CancelRegistry:
    """Backend keys (process id, secret) of the open connections, for CancelRequest."""

    def __init__(self) -> None:
        self._connections: dict[int, tuple[int, "ClientProtocol"]] = {}
        self._next_process_id = 1000

    def register(self, connection: "ClientProtocol") -> tuple[int, int]:
        process_id = self._next_process_id
        self._next_process_id = self._next_process_id % 0x7FFFFFFF + 1
        secret = secrets.randbits(32)
        self._connections[process_id] = (secret, connection)
        return process_id, secret

    def unregister(self, process_id: int) -> None:
        self._connections.pop(process_id, None)

    def cancel(self, process_id: int, secret: int) -> bool:
        """Cancel that connection's running statement if the key matches; say whether it did."""
        entry = self._connections.get(process_id)
        if entry is None or entry[0] != secret:
            log.info("cancel request with an unknown key for process %d", process_id)
            return False
        return entry[1].cancel_statement()


class ClientProtocol(asyncio.Protocol):
    """One client socket, on the event loop."""

    def __init__(self, server: "Server") -> None:
        self._server = server
        self._loop = asyncio.get_running_loop()
        self._reader = MessageReader()
        self._inbox: list[Item] = []
        self._inbox_bytes = 0
        self._busy = False  # a batch is running on the runner
        self._input_ended = False  # no further input will be read
        self._lost = False
        self._reading_paused = False
        self._transport: asyncio.Transport | None = None
        self._output: TransportOutput | None = None
        self._handler: ConnectionHandler | None = None
        self._process_id = 0
        self._poller: SocketPoller | None = None
        self._polling = False

    # --- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._output = TransportOutput(self._loop, transport)
        self._process_id, secret = self._server.cancel_keys.register(self)
        process_id = self._process_id
        self._handler = ConnectionHandler(lambda startup: self._server.open_session(startup, process_id),
                                          self._output, (self._process_id, secret))
        self._server.connections.add(self)
        self._poller = poller_for(transport, self._server.busy_poll_window)
        log.debug("connection %d from %s", self._process_id, transport.get_extra_info("peername"))

    def data_received(self, data: bytes) -> None:
        if self._input_ended:
            return
        self._reader.feed(data)
        try:
            while not self._input_ended and (raw := self._reader.next_message()) is not None:
                self._accept(raw)
        except PgError as err:
            self._inbox.append(fatal(err))  # reported after the messages before it
            self._end_input()
        if self._busy and self._inbox_bytes + self._reader.buffered > MAX_PENDING_INPUT:
            self._pause_reading()
        self._pump()

    def eof_received(self) -> bool:
        self._end_input()
        self._pump()
        return True  # keep the transport open until the queued messages are answered

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._input_ended = True
        self._inbox.clear()
        self._output.close()
        if self._poller is not None:
            self._poller.close()
        self._server.cancel_keys.unregister(self._process_id)
        if self._busy:
            self._handler.cancel()
        else:
            self._release()

    def pause_writing(self) -> None:
        self._output.pause()

    def resume_writing(self) -> None:
        self._output.resume()

    # --- called by the server ---------------------------------------------------------------

    def cancel_statement(self) -> bool:
        if not self._busy:
            return False
        self._handler.cancel()
        return True

    def shut_down(self) -> None:
        """Server shutdown: end the connection once its running statement is cancelled."""
        self._end_input()
        self._inbox.clear()
        self._inbox.append(admin_shutdown())
        self._cancel_for_shutdown()
        self._pump()

    def _cancel_for_shutdown(self) -> None:
        """Cancel the running batch, again until it ends: a cancel that lands between two
        statements, or before the first has started, would otherwise be lost."""
        if self._busy and not self._lost:
            self._handler.shut_down()
            self._loop.call_later(SHUTDOWN_CANCEL_INTERVAL, self._cancel_for_shutdown)

    def abort(self) -> None:
        """Drop the connection at once (a client not reading what it asked for)."""
        self._transport.abort()

    # --- internals ------------------------------------------------------------------------

    def _accept(self, raw: RawMessage) -> None:
        if raw.kind:
            self._inbox.append(raw)
            self._inbox_bytes += len(raw.body)
            return
        packet = parse_startup_packet(raw.body)
        if isinstance(packet, (SSLRequest, GSSENCRequest)):
            self._transport.write(b"N")
        elif isinstance(packet, CancelRequest):
            self._server.cancel_keys.cancel(packet.process_id, packet.secret_key)
            self._end_input()
            self._transport.close()
        elif isinstance(packet, StartupMessage):
            self._reader.expect_typed()
            self._inbox.append(packet)

    def _end_input(self) -> None:
        self._input_ended = True

    def _pump(self) -> None:
        """Hand the queued messages to the handler unless a batch is already running."""
        if self._busy or self._lost:
            return
        if not self._inbox:
            if self._input_ended:
                self._transport.close()
            return
        batch, self._inbox, self._inbox_bytes = self._inbox, [], 0
        self._busy = True
        if self._handler.runs_quickly(batch):
            self._run_inline(batch)
            return
        future = self._server.runner.run(self._loop, self._handler.handle, batch)
        future.add_done_callback(self._batch_done)

    def _run_inline(self, batch: list[Item]) -> None:
        """Run a cheap batch now, on the loop: handing it to a thread (and a future back)
        would cost about as much as the search (DESIGN.md, "The hot path")."""
        try:
            self._handler.handle(batch)
        except Exception:
            log.exception("connection handler failed")
            self._handler.closed = True
        self._after_batch()
        if self._poller is not None and not self._polling:
            self._poll_while_alone()

    def _poll_while_alone(self) -> None:
        """Read a lone client's next queries as they come, for a moment, rather than let
        the loop sleep between them (wire/busy_poll)."""
        self._polling = True
        turn_ends = time.perf_counter() + LOOP_TURN_EVERY
        try:
            while self._idle_and_alone() and time.perf_counter() < turn_ends:
                data = self._poller.poll(turn_ends)
                if data is None:
                    return
                self.data_received(data)
        finally:
            self._polling = False

    def _idle_and_alone(self) -> bool:
        return not (self._busy or self._lost or self._input_ended or self._reading_paused
                    or self._transport.is_closing()) and len(self._server.connections) == 1

    def _batch_done(self, future: "asyncio.Future[None]") -> None:
        if future.exception() is not None:
            log.error("connection handler failed", exc_info=future.exception())
            self._handler.closed = True
        self._after_batch()

    def _after_batch(self) -> None:
        self._busy = False
        if self._lost:
            self._release()
            return
        if self._handler.closed or (self._input_ended and not self._inbox):
            self._transport.close()
            return
        self._resume_reading()
        self._pump()

    def _release(self) -> None:
        """Close the session off the loop; the server forgets the connection afterwards."""
        future = self._server.runner.run(self._loop, self._handler.close)
        future.add_done_callback(self._released)

    def _released(self, future: "asyncio.Future[None]") -> None:
        if future.exception() is not None:
            log.error("closing a session failed", exc_info=future.exception())
        log.debug("connection %d closed", self._process_id)
        self._server.connection_released(self)

    def _pause_reading(self) -> None:
        if not self._reading_paused:
            self._reading_paused = True
            self._transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._reading_paused and not self._transport.is_closing():
            self._reading_paused = False
            self._transport.resume_reading()


class Server:
    """Serves ``database`` on ``host:port`` (port 0: any free port)."""

    def __init__(self, database: "Database", host: str, port: int, *,
                 runner: BatchRunner | None = None, busy_poll_us: int = DEFAULT_WINDOW_US) -> None:
        self.database = database
        self.host = host
        self.port = port
        self.runner = runner or BatchRunner()
        # seconds a lone client's socket is polled after an answer; 0: never (wire/busy_poll)
        self.busy_poll_window = busy_poll_us / 1e6 if busy_poll_us > 0 and useful_here() else 0.0
        self.cancel_keys = CancelRegistry()
        self.connections: set[ClientProtocol] = set()
        self._listener: asyncio.base_events.Server | None = None
        self._all_released = asyncio.Event()

    def open_session(self, startup: StartupMessage, process_id: int) -> "Session":
        return self.database.session(user=startup.user, database=startup.database,
                                     options=startup.session_options(), backend_pid=process_id)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._listener = await loop.create_server(lambda: ClientProtocol(self), self.host,
                                                  self.port, reuse_address=True)

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """The (host, port) pairs actually listened on."""
        return [sock.getsockname()[:2] for sock in self._listener.sockets
                if sock.family in (socket.AF_INET, socket.AF_INET6)]

    def connection_released(self, connection: ClientProtocol) -> None:
        self.connections.discard(connection)
        if not self.connections:
            self._all_released.set()

    async def stop(self) -> None:
        """Stop listening, end every connection, then release the worker threads."""
        self._listener.close()
        if self.connections:
            self._all_released.clear()
            for connection in list(self.connections):
                connection.shut_down()
            if not await self._wait_for_connections():
                log.warning("aborting %d connections still busy at shutdown", len(self.connections))
                for connection in list(self.connections):
                    connection.abort()
                await self._wait_for_connections()
        await asyncio.get_running_loop().run_in_executor(None, self.runner.shutdown)


    async def _wait_for_connections(self) -> bool:
        """Wait a while for every connection to be released; say whether they were."""
        try:
            await asyncio.wait_for(self._all_released.wait(), SHUTDOWN_GRACE_SECONDS)
        except TimeoutError:
            return False
        return True


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvloop event loop when uvloop is installed, else asyncio's default."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def serve(database: "Database", host: str, port: int,
          on_listening: Callable[[list[tuple[str, int]]], None], *,
          busy_poll_us: int = DEFAULT_WINDOW_US) -> None:
    """Run the server until SIGINT or SIGTERM; ``on_listening`` gets the bound addresses."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(_serve(database, host, port, on_listening, busy_poll_us))


async def _serve(database: "Database", host: str, port: int,
                 on_listening: Callable[[list[tuple[str, int]]], None], busy_poll_us: int) -> None:
    server = Server(database, host, port, busy_poll_us=busy_poll_us)
    await server.start()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    on_listening(server.addresses)
    await stopping.wait()
    log.info("shutting down")
    await server.stop()
