"""A database: one data directory's store and catalog, the DuckDB instance that runs its
relational SQL, and the sessions that use them."""

from __future__ import annotations

import os
import threading
import weakref

from pgvecdb.catalog.model import Catalog
from pgvecdb.catalog.pg_catalog import SystemContext
from pgvecdb.exec.duck import open_duckdb
from pgvecdb.exec.sequences import SequenceFunctions
from pgvecdb.exec.setting_functions import SettingFunctions
from pgvecdb.exec.vector_indexes import VectorIndexes
from pgvecdb.planner.planner import PlanCache
from pgvecdb.planner.translate import index_key_query
from pgvecdb.sql.session import Session
from pgvecdb.storage.api import StorageConfig, open_store


class Database:
    def __init__(self, path: str | None, config: StorageConfig | None = None) -> None:
        self.path = None if path is None else os.fspath(path)
        self.store = open_store(self.path, config)
        document = self.store.load_catalog()
        self.catalog = Catalog.from_dict(document) if document else Catalog()
        self.ddl_lock = threading.RLock()
        self.plan_cache = PlanCache()
        self.duck = open_duckdb()
        self.sequences = SequenceFunctions(self.store, lambda: self.catalog)
        self.sequences.register(self.duck)
        self.sessions: weakref.WeakValueDictionary[int, Session] = weakref.WeakValueDictionary()
        SettingFunctions(self.sessions.__getitem__).register(self.duck)
        self.vector_indexes = VectorIndexes(
            self.store, lambda: self.catalog,
            lambda table, index: index_key_query(self.catalog, table, index), self.duck)

    @classmethod
    def open(cls, path: str | os.PathLike | None, config: StorageConfig | None = None) -> "Database":
        return cls(None if path is None else os.fspath(path), config)

    def session(self, *, user: str = "postgres", database: str = "postgres",
                options: dict[str, str] | None = None, backend_pid: int | None = None) -> Session:
        """A new session; ``backend_pid`` is what pg_backend_pid() reports (the wire's
        BackendKeyData process id), the session's own number when not given."""
        session = Session(self, user=user, dbname=database, options=options, backend_pid=backend_pid)
        self.sessions[session.id] = session
        return session

    def system_context(self, session: Session) -> SystemContext:
        """pg_catalog's view of this database as ``session`` sees it."""
        return SystemContext(
            catalog=self.catalog,
            settings=session.settings.all(),
            user=session.user,
            database=session.dbname,
            relation_size=self.store.table_size,
            backend_pid=session.backend_pid,
        )

    def close(self) -> None:
        self.vector_indexes.close()
        self.store.close()
        try:
            self.duck.close()
        except Exception:
            pass
