"""The ``pgvecdb`` command: ``pgvecdb serve`` puts the PostgreSQL protocol in front of a data directory."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Sequence

from pgvecdb import __version__
from pgvecdb.errors import PgError
from pgvecdb.wire.busy_poll import DEFAULT_WINDOW_US

log = logging.getLogger("pgvecdb")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5433
DEFAULT_DATA_DIR = "./pgvecdb-data"
LOG_LEVELS = ("debug", "info", "warning", "error")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pgvecdb",
        description="pgvecdb: a vector database that speaks PostgreSQL and pgvector's SQL.",
    )
    parser.add_argument("--version", action="version", version=f"pgvecdb {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the PostgreSQL wire-protocol server over a data directory",
        description="Serve a data directory over the PostgreSQL v3 protocol. Any user and "
                    "database name is accepted without a password (trust authentication). "
                    "Stops cleanly on SIGINT (Ctrl-C) or SIGTERM.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    serve.add_argument("--host", default=DEFAULT_HOST,
                       help="address to listen on (0.0.0.0 for every IPv4 interface)")
    serve.add_argument("--port", type=_port, default=DEFAULT_PORT,
                       help="TCP port to listen on; 0 picks a free port (the log line says which)")
    serve.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                       help="data directory, created if missing; one server or process at a time")
    serve.add_argument("--log-level", choices=LOG_LEVELS, default="info",
                       help="how much to log to standard error")
    serve.add_argument("--busy-poll-us", type=_non_negative, default=DEFAULT_WINDOW_US,
                       help="after answering the only connected client, keep reading its socket for this "
                            "many microseconds before the server sleeps, so that its next query finds "
                            "it awake (0: never; only on machines with more than one core)")
    serve.set_defaults(run=run_serve)
    return parser


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, not {port}")
    return port


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {value}")
    return value


def run_serve(args: argparse.Namespace) -> int:
    from pgvecdb.database import Database
    from pgvecdb.wire.server import serve

    data_dir = os.path.abspath(args.data_dir)
    try:
        database = Database.open(data_dir)
    except (PgError, OSError) as exc:
        log.error("cannot open data directory %s: %s", data_dir, exc)
        return 1
    try:
        serve(database, args.host, args.port,
              lambda addresses: _log_listening(addresses, data_dir), busy_poll_us=args.busy_poll_us)
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", args.host, args.port, exc)
        return 1
    finally:
        database.close()
    log.info("pgvecdb stopped")
    return 0


def _log_listening(addresses: list[tuple[str, int]], data_dir: str) -> None:
    where = ", ".join(f"{host}:{port}" for host, port in addresses)
    log.info("pgvecdb %s listening on %s (data directory %s)", __version__, where, data_dir)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = getattr(args, "log_level", "info").upper()
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # faiss announces at INFO which CPU build it loads; that is not the server's news.
    logging.getLogger("faiss").setLevel(max(logging.getLevelName(level), logging.WARNING))
    return args.run(args)
