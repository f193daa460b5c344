"""One process at a time: a data directory in use refuses a second opener with ObjectInUse."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from pgvecdb.errors import ObjectInUse
from pgvecdb.storage.api import open_store

HOLDER = textwrap.dedent("""
    import sys
    from pgvecdb.storage.api import open_store

    store = open_store(sys.argv[1])
    print("open", flush=True)
    sys.stdin.readline()
    store.close()
    print("closed", flush=True)
""")


def test_a_second_process_gets_a_clear_error_until_the_first_closes(tmp_path):
    path = tmp_path / "data"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "open\n"
        with pytest.raises(ObjectInUse) as refused:
            open_store(path)
        assert refused.value.sqlstate == "55006"
        assert str(path) in refused.value.message
        assert str(holder.pid) in refused.value.detail
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline() == "closed\n"
    finally:
        holder.stdin.close()
        holder.wait()
        holder.stdout.close()
    open_store(path).close()


def test_the_same_process_cannot_open_a_directory_twice(tmp_path):
    first = open_store(tmp_path / "data")
    try:
        with pytest.raises(ObjectInUse):
            open_store(tmp_path / "data")
    finally:
        first.close()
    open_store(tmp_path / "data").close()
