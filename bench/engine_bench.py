"""The vector engine alone, in-process: HNSW build time, and QPS / recall@10 one query at a
time (k = 10) unfiltered and under filters keeping 50%, 10% and 1% of the rows.

Data and ground truth come from ../shared/bench/datasets.py (``clustered``, 200,000 x 128
by default, cached in --cache). Filters are the shared harness's: ``cat_lt50`` (50%),
``cat_lt10`` (10%) and ``cat_eq`` (``category = query % 100``, 1%), passed to the engine
as bitsets of excluded rows, built once per filter value as the planner would cache them.

``--libraries`` adds the measurements behind the choice of faiss for search and hnswlib
for building: a faiss-native HNSW build, raw hnswlib searches (unfiltered, and filtered
through its Python callback) and raw faiss searches with ``IDSelectorBitmap`` at a fixed
ef (no engine strategy), on the same graph.

    python bench/engine_bench.py [--n 200000] [--nq 1000] [--libraries] [--json out.json]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import numpy as np

SHARED_BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"
sys.path.insert(0, str(SHARED_BENCH))

import benchutil as bu  # noqa: E402
from datasets import N_CATEGORIES, add_dataset_args, dataset_from_args, exact_knn  # noqa: E402

from pgvecdb.engine import Bitset, IndexType, Metric, SearchParams, create_index, get_num_threads  # noqa: E402

METRICS = {"l2": Metric.L2, "ip": Metric.IP, "cosine": Metric.COSINE}
DEFAULT_FILTERS = "none,cat_lt50,cat_lt10,cat_eq"
TARGET_RECALL = 0.95


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Filters:
    """Excluded-row bitsets per filter value and the exact filtered ground truth.

    ``cat_lt<N>`` keeps ``category < N`` (N% of the rows), ``cat_eq`` keeps
    ``category = query % 100`` (1%, a different category per query)."""

    def __init__(self, ds) -> None:
        self.ds = ds
        self.bitsets = {("cat_eq", c): Bitset.from_mask(ds.category != c) for c in range(N_CATEGORIES)}

    def bitset(self, name: str, query: int) -> Bitset | None:
        if name == "none":
            return None
        if name == "cat_eq":
            return self.bitsets["cat_eq", query % N_CATEGORIES]
        if name not in self.bitsets:
            self.bitsets[name] = Bitset.from_mask(~(self.ds.category < int(name.removeprefix("cat_lt"))))
        return self.bitsets[name]

    def ground_truth(self, name: str) -> np.ndarray:
        if name in ("none", "cat_lt10", "cat_eq"):  # cached by the shared harness
            return self.ds.ground_truth(name, 100)[:, :bu.K]
        rows = np.flatnonzero(~self.bitset(name, 0).to_mask())
        local, _ = exact_knn(self.ds.base[rows], self.ds.queries, bu.K, self.ds.metric)
        return rows[local]


def sweep_point(index, ds, filters: Filters, name: str, ef: int, truth: np.ndarray) -> dict:
    params = SearchParams(ef_search=ef)
    found, seconds = [], []
    for warm in range(min(100, ds.nq)):
        index.search(ds.queries[warm:warm + 1], bu.K, params, filters.bitset(name, warm))
    started = time.perf_counter()
    for q in range(ds.nq):
        t0 = time.perf_counter()
        _, ids = index.search(ds.queries[q:q + 1], bu.K, params, filters.bitset(name, q))
        seconds.append(time.perf_counter() - t0)
        found.append(ids[0])
    wall = time.perf_counter() - started
    plan = index.plan(bu.K, params, filters.bitset(name, 0)).describe()
    return {"filter": name, "ef_search": ef, "qps": ds.nq / wall, **bu.accuracy_stats(found, truth),
            **bu.latency_stats(seconds), "plan": plan}


def two_thread_qps(index, ds, ef: int) -> float:
    """Queries split over two threads (the searches release the GIL)."""
    params = SearchParams(ef_search=ef)

    def run(start: int) -> None:
        for q in range(start, ds.nq, 2):
            index.search(ds.queries[q:q + 1], bu.K, params)

    threads = [threading.Thread(target=run, args=(s,)) for s in (0, 1)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return ds.nq / (time.perf_counter() - started)


def library_points(index, ds, filters: Filters, args, names: list[str], truths: dict) -> list[dict]:
    """Raw hnswlib (callback filter) and raw faiss (bitmap, fixed ef) for comparison."""
    import faiss
    import hnswlib

    points = []
    log("faiss-native HNSW build")
    started = time.perf_counter()
    native = faiss.IndexHNSWFlat(ds.dim, args.m, faiss.METRIC_L2)
    native.hnsw.efConstruction = args.ef_construction
    faiss.omp_set_num_threads(get_num_threads())
    native.add(ds.base)
    points.append({"system": "faiss-native build", "seconds": time.perf_counter() - started})
    log("hnswlib build")
    started = time.perf_counter()
    graph = hnswlib.Index(space="l2", dim=ds.dim)
    graph.init_index(ds.n, args.m, args.ef_construction, 100)
    graph.add_items(ds.base, np.arange(ds.n), num_threads=get_num_threads())
    points.append({"system": "hnswlib build", "seconds": time.perf_counter() - started})
    faiss.omp_set_num_threads(1)
    engine_graph = index._faiss  # the engine's own graph, searched without its strategy
    for name in names:
        for ef in bu.parse_int_list(args.ef_search):
            found, started = [], time.perf_counter()
            for q in range(ds.nq):
                bitset = filters.bitset(name, q)
                included = None if bitset is None else bitset.invert().packed
                selector = None if included is None else faiss.IDSelectorBitmap(ds.n, faiss.swig_ptr(included))
                _, ids = engine_graph.search(ds.queries[q:q + 1], bu.K,
                                             params=faiss.SearchParametersHNSW(efSearch=ef, sel=selector))
                found.append(ids[0])
            points.append({"system": "faiss+bitmap", "filter": name, "ef_search": ef,
                           "qps": ds.nq / (time.perf_counter() - started), **bu.accuracy_stats(found, truths[name])})
    for name, count in [(name, ds.nq if name == "none" else 100) for name in names]:
        graph.set_ef(80)
        found, started = [], time.perf_counter()
        for q in range(count):
            bitset = filters.bitset(name, q)
            keep = None if bitset is None else ~bitset.to_mask()
            callback = None if keep is None else (lambda label, keep=keep: bool(keep[label]))
            try:
                labels, _ = graph.knn_query(ds.queries[q:q + 1], bu.K, num_threads=1, filter=callback)
                found.append(labels[0])
            except RuntimeError:  # hnswlib found fewer than k rows
                found.append(np.array([], dtype=np.int64))
        points.append({"system": "hnswlib" + ("" if keep is None else "+callback"), "filter": name, "ef_search": 80,
                       "qps": count / (time.perf_counter() - started),
                       **bu.accuracy_stats(found, truths[name][:count])})
    return points


def best_at_target(points: list[dict], name: str) -> dict | None:
    good = [p for p in points if p["filter"] == name and p["recall_at_10"] >= TARGET_RECALL]
    return max(good, key=lambda p: p["qps"]) if good else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dataset_args(parser)
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=64)
    parser.add_argument("--ef-search", default="20,40,60,80,120,160", help="ef_search values to sweep")
    parser.add_argument("--filters", default=DEFAULT_FILTERS, help="none, cat_lt<N> (N%% of rows), cat_eq (1%%)")
    parser.add_argument("--libraries", action="store_true", help="also measure raw hnswlib and faiss")
    parser.add_argument("--json", help="write every measured point here")
    args = parser.parse_args(argv)

    ds = dataset_from_args(args)
    log(f"dataset {ds.describe()}")
    filters = Filters(ds)
    names = [name.strip() for name in args.filters.split(",") if name.strip()]
    truths = {name: filters.ground_truth(name) for name in names}
    options = {"m": args.m, "ef_construction": args.ef_construction}
    index = create_index(IndexType.HNSW, METRICS[ds.metric], ds.dim, options)
    log("engine HNSW build")
    started = time.perf_counter()
    index.build(ds.base)
    build_seconds = time.perf_counter() - started
    log(f"built in {build_seconds:.1f} s, {index.memory_size() / 2**20:.0f} MiB")

    points = []
    for name in names:
        for ef in bu.parse_int_list(args.ef_search):
            points.append(sweep_point(index, ds, filters, name, ef, truths[name]))
            log(f"{name} ef={ef}: {points[-1]['qps']:,.0f} QPS recall {points[-1]['recall_at_10']:.3f}")
    bu.print_table(points, [("filter", "filter"), ("ef_search", "ef"), ("qps", "QPS_1"), ("recall_at_10", "recall@10"),
                            ("avg_rows", "rows"), ("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"), ("plan", "plan")])
    best = {name: best_at_target(points, name) for name in names}
    best_unfiltered_ef = best["none"]["ef_search"] if best["none"] else 80
    two_threads = two_thread_qps(index, ds, best_unfiltered_ef)
    print(f"\nbuild {build_seconds:.1f} s (m={args.m}, ef_construction={args.ef_construction}, "
          f"{get_num_threads()} threads); two threads unfiltered at ef {best_unfiltered_ef}: {two_threads:,.0f} QPS")

    library = library_points(index, ds, filters, args, names, truths) if args.libraries else []
    if library:
        print()
        bu.print_table(library, [("system", "system"), ("seconds", "build s"), ("filter", "filter"),
                                 ("ef_search", "ef"), ("qps", "QPS_1"), ("recall_at_10", "recall@10"),
                                 ("avg_rows", "rows")])
    bu.write_json(args.json, {"dataset": ds.describe(), "build_seconds": build_seconds, "points": points,
                              "two_thread_qps": two_threads, "libraries": library,
                              "environment": bu.environment(("numpy", "faiss-cpu", "hnswlib")),
                              "loadavg": bu.loadavg()})
    summary = " ".join(
        f"{name}={p['qps']:,.0f}qps@{p['recall_at_10']:.3f}(ef{p['ef_search']})" if p
        else f"{name}=none>={TARGET_RECALL}"
        for name, p in best.items())
    print(f"SUMMARY engine HNSW {ds.n}x{ds.dim} build={build_seconds:.1f}s {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
