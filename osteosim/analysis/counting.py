"""Counting rows by a few small keys, the way every summary and dashboard table of patients is built.

A chunk of a million patients turns into a count table of a few thousand rows. Pandas group-bys
over string keys did that at a few hundred thousand patients a second; here each key is an
integer code (a categorical's codes, a day rounded to an integer, a flag), the codes are combined
into one integer and counted into dense bins in one compiled pass (`np.unique` when the combined
range is too wide for a dense count). Only the rows that occur come back, each key decoded to its value.
"""
from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np
import pandas as pd

DENSE_LIMIT = 1 << 22        # a bincount over at most 4 million bins (32 MiB); beyond it, sort and count


class Key(NamedTuple):
    """A column to count by: integer codes in [0, len(values)) and what each code stands for."""
    codes: np.ndarray
    values: np.ndarray


def categories(column: pd.Series) -> Key:
    """A column's distinct values as codes, as text (a categorical's own codes; any other column factorised).
    A categorical's missing values (code -1) are the empty string, as `astype(str)` of pandas 2 gives."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        values = np.asarray(column.cat.categories.astype(str), dtype=object)
        if (codes < 0).any():
            codes = np.where(codes < 0, len(values), codes)
            values = np.append(values, "")
        return Key(codes.astype(np.int64), values)
    codes, uniques = pd.factorize(column.astype(str), sort=False)
    return Key(codes.astype(np.int64), np.asarray(uniques, dtype=object))


def is_in(column: pd.Series, values) -> np.ndarray:
    """Where a text column (categorical, as in the result tables, or plain) is one of `values`: compared on a
    categorical's categories, not on a string made for every row (a categorical's missing value is "")."""
    key = categories(column)
    return np.isin(key.values, list(values))[key.codes]


def flag(mask: np.ndarray) -> Key:
    return Key(np.asarray(mask, dtype=np.int64), np.array([False, True]))


def labels(mask_by_label: list[tuple[str, np.ndarray]], otherwise: str, n: int) -> Key:
    """The first label whose mask holds, else `otherwise` (np.select, as codes)."""
    codes = np.full(n, len(mask_by_label), dtype=np.int64)
    for j in range(len(mask_by_label) - 1, -1, -1):
        codes[mask_by_label[j][1]] = j
    return Key(codes, np.array([label for label, _ in mask_by_label] + [otherwise], dtype=object))


def integers(values: np.ndarray, decode=None) -> Key:
    """Integer-valued numbers (rounded days, weeks, replications) as codes from their minimum; `decode` maps
    each integer to the value the table holds (e.g. days to years), by default the integer itself (in the
    values' own integer type, else int64)."""
    values = np.asarray(values)
    if values.size == 0:
        return Key(np.zeros(0, dtype=np.int64), np.zeros(0))
    low = int(values.min())
    codes = (values - low).astype(np.int64)
    span = np.arange(low, low + int(codes.max()) + 1, dtype=np.float64)
    if decode is not None:
        return Key(codes, decode(span))
    return Key(codes, span.astype(values.dtype if values.dtype.kind in "iu" else np.int64))


def mixed_radix(codes: list[np.ndarray], sizes: list[int]) -> np.ndarray:
    """Each row's codes as one integer, the first most significant (codes[i] < sizes[i])."""
    combined = np.zeros(len(codes[0]) if codes else 0, dtype=np.int64)
    for code, size in zip(codes, sizes):
        combined *= size
        combined += code
    return combined


def _combined(keys: dict[str, Key], mask: np.ndarray | None) -> tuple[np.ndarray, list[int]]:
    """Each row's keys as one integer (`mixed_radix`), and the radices."""
    sizes = [max(len(key.values), 1) for key in keys.values()]
    combined = mixed_radix([key.codes for key in keys.values()], sizes)   # then one selection, not one per key
    return (combined if mask is None else combined[mask]), sizes


def _decoded(keys: dict[str, Key], sizes: list[int], seen: np.ndarray) -> dict[str, np.ndarray]:
    """The keys' values of combined integers `seen`."""
    out = {}
    for (name, key), size in zip(reversed(list(keys.items())), reversed(sizes)):
        out[name] = key.values[seen % size]
        seen = seen // size
    return {name: out[name] for name in keys}


def count(keys: dict[str, Key], mask: np.ndarray | None = None) -> pd.DataFrame:
    """Rows per distinct combination of the keys (among rows where `mask`, a boolean per row, holds): the keys'
    values and `count`, in the order of the combined codes."""
    if mask is not None and np.asarray(mask).dtype != np.bool_:
        raise TypeError("counting.count: mask must be a boolean per row, not row positions")
    sizes = [max(len(key.values), 1) for key in keys.values()]
    total = int(np.prod(sizes, dtype=np.float64)) if sizes else 1
    if total <= DENSE_LIMIT and keys:
        codes = tuple(np.asarray(key.codes, dtype=np.int64) for key in keys.values())
        counts = _dense_counts(codes, np.array(sizes, dtype=np.int64), total,
                               np.ones(0, dtype=np.bool_) if mask is None else np.asarray(mask, dtype=np.bool_))
        seen = np.flatnonzero(counts)
        counts = counts[seen]
    else:
        combined, sizes = _combined(keys, mask)
        seen, counts = np.unique(combined, return_counts=True)
    return pd.DataFrame({**_decoded(keys, sizes, seen), "count": counts.astype(np.int64)})


@nb.njit(cache=True, nogil=True)
def _dense_counts(codes, sizes, total, mask):
    """np.bincount of the keys' `mixed_radix` codes over `total` bins, among rows where `mask` holds (an empty
    mask: every row), in one compiled pass: the combined codes and the masked copy were a dozen NumPy passes
    a call, and a chunk's summary and dashboard tables make some 25 calls."""
    counts = np.zeros(total, dtype=np.int64)
    masked = mask.shape[0] > 0
    for i in range(codes[0].shape[0]):
        if masked and not mask[i]:
            continue
        combined = 0
        for j in range(len(codes)):
            combined = combined * sizes[j] + codes[j][i]
        counts[combined] += 1
    return counts


def _distinct(combined: np.ndarray, sizes: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """np.unique(combined, return_inverse=True, return_counts=True), counted into dense bins when the radices
    leave few enough of them (a few (replication, arm) pairs: no sort)."""
    total = int(np.prod(sizes, dtype=np.float64)) if sizes else 1
    if total > DENSE_LIMIT:
        return np.unique(combined, return_inverse=True, return_counts=True)
    counts = np.bincount(combined, minlength=total)
    seen = np.flatnonzero(counts)
    rank = np.zeros(total, dtype=np.int64)
    rank[seen] = np.arange(len(seen))
    return seen, rank[combined], counts[seen]


def merged_labels(codes: np.ndarray, values: np.ndarray) -> Key:
    """A key whose values may repeat (two codes meaning the same text) with each value once."""
    unique, inverse = np.unique(np.asarray(values, dtype=str), return_inverse=True)
    return Key(inverse[codes], unique.astype(object))


def sums(keys: dict[str, Key], columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per distinct combination of the keys (sorted by them): the number of rows (`patients`) and the sum of
    each column; integer and boolean columns stay integers."""
    combined, sizes = _combined(keys, None)
    seen, position, patients = _distinct(combined, sizes)
    out = pd.DataFrame({**_decoded(keys, sizes, seen), "patients": patients.astype(np.int64)})
    for name, values in columns.items():
        values = np.asarray(values)
        total = np.bincount(position, weights=values.astype(np.float64), minlength=len(seen))
        out[name] = total.astype(np.int64) if values.dtype.kind in "biu" else total
    return out.sort_values(list(keys), kind="stable", ignore_index=True)


@nb.njit(cache=True, nogil=True)
def kahan_group_sums(labels, values, sums, compensation):
    """Add each row of `values` (rows x columns) into row labels[i] of `sums` (a label < 0: the row is left out),
    as pandas' cython group sum adds, so that the result is the group-by's bit for bit: in row order,
    Kahan-compensated (`compensation` carries from call to call), NaN skipped as missing, and a compensation
    that turns NaN on an infinite value reset to 0 (pandas 2.1+)."""
    for i in range(values.shape[0]):
        g = labels[i]
        if g < 0:
            continue
        for j in range(values.shape[1]):
            value = values[i, j]
            if value != value:
                continue
            y = value - compensation[g, j]
            t = sums[g, j] + y
            compensation[g, j] = t - sums[g, j] - y
            if compensation[g, j] != compensation[g, j]:
                compensation[g, j] = 0.0
            sums[g, j] = t
