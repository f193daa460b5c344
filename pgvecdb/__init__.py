"""pgvecdb: a vector database that speaks PostgreSQL and pgvector.

``pgvecdb.connect(path)`` opens a database in-process (DB-API 2.0); ``pgvecdb serve``
puts the PostgreSQL wire protocol in front of the same data directory.
"""

from __future__ import annotations

__version__ = "0.1.0"


def connect(path=None, *, autocommit: bool = False):
    """Open the database in directory ``path`` (in memory when None) as a DB-API connection."""
    from pgvecdb.dbapi import connect as _connect

    return _connect(path, autocommit=autocommit)
