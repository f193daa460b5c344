"""Polling a lone client's socket for a moment after answering it, before the loop sleeps.

A client that sends its next query as soon as it has read an answer (a search loop, an
ingestion script, an ORM's N+1 queries) otherwise finds the server asleep in epoll. The
wake-up costs little, but the sleep costs more: the core the loop ran on idles, and the
next query runs with cold caches. Measured on a 2-core VM, a prepared ANN search took ~40%
more CPU in the server than the same work driven in a loop (bench/README.md).

Seastar's reactor (ScyllaDB, Redpanda) keeps polling for a while before it sleeps, 200 us
by default; pgvecdb does the same for one connection. After a batch run inline, the
event loop reads that client's socket without blocking for up to ``window`` seconds (300
us by default: psycopg takes 100 to 200 us between an answer and its next query here) and
handles what arrives at once, yielding its core to the client between reads. It only does
so when the connection is the only one open, so no other client waits on the poll, and on
a machine with more than one core. The poll costs at most ``window`` of CPU per answer,
and nothing while no client is talking.
"""

from __future__ import annotations

import os
import socket
import time

DEFAULT_WINDOW_US = 300
# A client answered as fast as it asks keeps the loop polling; the loop's other work
# (signals, new connections, cancel requests) waits at most this long for its turn.
LOOP_TURN_EVERY = 0.01
READ_SIZE = 256 * 1024


def useful_here() -> bool:
    """Whether this process may run on more than one core (a poll on the client's only
    core would keep it from sending), on a system with non-blocking reads per call."""
    if not hasattr(socket, "MSG_DONTWAIT"):  # Windows
        return False
    try:
        return len(os.sched_getaffinity(0)) > 1
    except AttributeError:  # no sched_getaffinity (macOS)
        return (os.cpu_count() or 1) > 1


_yield_core = getattr(os, "sched_yield", lambda: None)


def poller_for(transport, window: float) -> "SocketPoller | None":
    """A poller of the transport's socket; None when polling is off (``window`` 0), the
    transport has no socket, or no descriptor is left to duplicate it."""
    raw_socket = transport.get_extra_info("socket")
    if not window or raw_socket is None:
        return None
    try:
        return SocketPoller(raw_socket, window)
    except OSError:
        return None


class SocketPoller:
    """Non-blocking reads of one connection's socket, through a duplicate of its
    descriptor (the transport keeps the original)."""

    def __init__(self, transport_socket, window: float) -> None:
        self._socket = socket.socket(transport_socket.family, transport_socket.type,
                                     fileno=os.dup(transport_socket.fileno()))
        self._window = window

    def poll(self, not_after: float) -> bytes | None:
        """What the client sends within the window, and before ``not_after`` (a
        ``time.perf_counter()`` value); None for nothing, end of input or an error (all
        three left for the event loop to notice in its own reading)."""
        deadline = min(time.perf_counter() + self._window, not_after)
        while True:
            try:
                return self._socket.recv(READ_SIZE, socket.MSG_DONTWAIT) or None
            except BlockingIOError:
                if time.perf_counter() >= deadline:
                    return None
                _yield_core()  # the client may have been woken on this very core
            except OSError:
                return None

    def close(self) -> None:
        self._socket.close()
