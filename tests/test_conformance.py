"""pgvector's own regression files, replayed through psql against pgvecdb serve.

The suite lives in ../shared/conformance (not part of the product): without it these
tests skip. The files listed here must pass exactly, as they do on PostgreSQL + pgvector.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "run_pgvector_suite.py"
REQUIRED = ["vector_type", "halfvec", "bit", "sparsevec", "cast", "btree", "copy",
            "hnsw_vector", "hnsw_halfvec", "hnsw_bit", "ivfflat_vector", "ivfflat_halfvec", "ivfflat_bit"]


@pytest.mark.skipif(not RUNNER.exists(), reason="../shared/conformance is not present")
def test_pgvector_regression_files_pass(fresh_server, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(RUNNER), "--host", fresh_server.host, "--port", str(fresh_server.port),
         "--user", "postgres", "--only", ",".join(REQUIRED), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=600,
    )
    diffs = tmp_path / "out" / "regression.diffs"
    detail = diffs.read_text()[:4000] if diffs.exists() else result.stderr[-2000:]
    assert result.returncode == 0, result.stdout + detail
    assert f"{len(REQUIRED)} passed, 0 failed" in result.stdout
