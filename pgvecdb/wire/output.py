"""Replies from a connection's handler to its socket, from the event loop or a worker thread.

The handler may run on a worker thread while only the event loop may touch the transport.
``TransportOutput`` buffers what the handler writes and, on ``flush`` (or when the buffer
grows past ``FLUSH_THRESHOLD``), hands the bytes to the loop. A worker blocks while the
socket is congested — the transport paused writing, or too many bytes are queued for the
loop — so a client that reads slowly holds back its own query, not the server's memory.
On the loop thread itself (a statement run inline) the bytes go straight to the transport.
"""

from __future__ import annotations

import asyncio
import threading

FLUSH_THRESHOLD = 256 * 1024
MAX_QUEUED_BYTES = 4 * 1024 * 1024


class TransportOutput:
    def __init__(self, loop: asyncio.AbstractEventLoop, transport: asyncio.WriteTransport) -> None:
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._transport = transport
        self._buffer = bytearray()
        self._condition = threading.Condition()
        self._paused = False
        self._closed = False
        self._queued = 0  # bytes handed to the loop but not yet written to the transport

    def write(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) >= FLUSH_THRESHOLD:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        data = bytes(self._buffer)
        self._buffer.clear()
        if threading.get_ident() == self._loop_thread:
            self._write_to_transport(data)
        else:
            self._send_from_worker(data)

    def _send_from_worker(self, data: bytes) -> None:
        with self._condition:
            while not self._closed and (self._paused or self._queued > MAX_QUEUED_BYTES):
                self._condition.wait()
            if self._closed:
                return
            self._queued += len(data)
        try:
            self._loop.call_soon_threadsafe(self._deliver, data)
        except RuntimeError:  # the loop has stopped: the connection is gone
            self.close()

    def _deliver(self, data: bytes) -> None:
        self._write_to_transport(data)
        with self._condition:
            self._queued -= len(data)
            self._condition.notify_all()

    def _write_to_transport(self, data: bytes) -> None:
        if not self._transport.is_closing():
            self._transport.write(data)

    # Called on the event loop by the protocol's flow-control callbacks.
    def pause(self) -> None:
        with self._condition:
            self._paused = True

    def resume(self) -> None:
        with self._condition:
            self._paused = False
            self._condition.notify_all()

    def close(self) -> None:
        """Drop further output and release a worker waiting to write."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
