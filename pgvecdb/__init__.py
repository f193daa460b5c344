"""pgvecdb: a vector database that speaks PostgreSQL and pgvector."""

__version__ = "0.1.0"
