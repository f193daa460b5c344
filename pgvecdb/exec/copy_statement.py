"""COPY ... FROM STDIN and COPY ... TO STDOUT: bind the COPY data formats to tables."""

from pgvecdb.errors import FeatureNotSupported


def copy_from_stdin(stmt, ctx, options):
    raise FeatureNotSupported("COPY FROM STDIN is not wired yet")


def copy_to_stdout(stmt, ctx, session, options):
    raise FeatureNotSupported("COPY TO STDOUT is not wired yet")
