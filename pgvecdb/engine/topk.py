"""Ordering and merging search results: ``(distances, ids)`` pairs, one row per query.

Every result the engine hands out is ordered the same way: rows found first (id -1 pads
after them), nearest first, NaN distances after every number (PostgreSQL orders NaN
last), ties by id. ``merge_results`` combines the results of several segments for the same
queries (ids already made global by the caller) into one top-k.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

Results = tuple[np.ndarray, np.ndarray]


def ordered(distances: np.ndarray, ids: np.ndarray) -> Results:
    """Each row of the results sorted: found rows nearest first, ties by id, padding last."""
    if (distances[..., 1:] > distances[..., :-1]).all():  # already in order, no ties (faiss's usual answer)
        return distances, ids
    order = np.lexsort((ids, distances, ids < 0), axis=-1)
    if order.ndim == 1:
        return distances[order], ids[order]
    rows = np.arange(len(order))[:, None]
    return distances[rows, order], ids[rows, order]


def merge_results(parts: Sequence[Results], k: int) -> Results:
    """The ``k`` nearest results per query across ``parts`` (each ``queries x anything``)."""
    distances = np.concatenate([d for d, _ in parts], axis=1)
    ids = np.concatenate([i for _, i in parts], axis=1)
    distances, ids = ordered(distances, ids)
    if distances.shape[1] >= k:
        return distances[:, :k], ids[:, :k]
    pad = k - distances.shape[1]
    return (np.pad(distances, ((0, 0), (0, pad)), constant_values=np.inf),
            np.pad(ids, ((0, 0), (0, pad)), constant_values=-1))
