"""Where connections' message batches run: off the event loop, one batch per connection at a time.

Each connection hands its batches to ``BatchRunner.run`` and waits for one to finish before
sending the next, so a session never runs two statements at once while different
connections run in parallel on the pool. A batch the connection knows to be cheap (binding
and running prepared ANN searches that need no DuckDB) does not come here: the connection
runs it inline on the loop (``ClientProtocol._run_inline``). The handler and its output
work on either thread.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

T = TypeVar("T")

DEFAULT_WORKERS = 64


class BatchRunner:
    def __init__(self, max_workers: int = DEFAULT_WORKERS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="pgvecdb-stmt")

    def run(self, loop: asyncio.AbstractEventLoop, work: Callable[..., T], *args: object) -> "asyncio.Future[T]":
        """Run ``work(*args)`` on a worker thread; the future completes on ``loop``."""
        return loop.run_in_executor(self._pool, work, *args)

    def shutdown(self) -> None:
        """Wait for running batches and stop the workers."""
        self._pool.shutdown(wait=True)
