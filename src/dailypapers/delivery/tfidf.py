"""Sparse tf-idf features of titles and abstracts, and a linear classifier trained on them or on
dense vectors: what per-member recommendations use (delivery/recommend.py).

numpy only (no scipy): a `Sparse` matrix is CSR arrays (indptr, indices, data), so its memory is
its non-zeros, never rows × vocabulary. The vocabulary is fitted on the training papers (the
member's library, their rejections and a bounded sample of the candidates) and capped at
MAX_FEATURES words, so a model's size does not grow with the number of candidates; candidates
are transformed and scored in chunks. The word counts come from delivery/wordcounts.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dailypapers.delivery.wordcounts import Counts

MAX_FEATURES = 20_000
MAX_DF = 0.5       # words in more than half the training papers tell nothing apart


@dataclass
class Sparse:
    """A CSR matrix of float32; rows are papers."""

    indptr: np.ndarray   # int64, n_rows + 1
    indices: np.ndarray  # int32 column of each non-zero
    data: np.ndarray     # float32 value of each non-zero
    n_cols: int
    _rows: np.ndarray | None = field(default=None, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.indptr) - 1, self.n_cols

    @property
    def nnz(self) -> int:
        return len(self.data)

    @property
    def rows(self) -> np.ndarray:
        """The row of each non-zero."""
        if self._rows is None:
            self._rows = np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))
        return self._rows

    def matvec(self, w: np.ndarray) -> np.ndarray:
        """self @ w."""
        products = self.data * np.take(w, self.indices)  # take: no int32 -> int64 copy of the indices
        if not len(products):
            return np.zeros(self.shape[0])
        starts = np.minimum(self.indptr[:-1], len(products) - 1)
        out = np.add.reduceat(products, starts)
        out[self.indptr[:-1] == self.indptr[1:]] = 0.0
        return out

    def rmatvec(self, g: np.ndarray) -> np.ndarray:
        """self.T @ g."""
        return np.bincount(self.indices, weights=self.data * np.take(g, self.rows), minlength=self.n_cols)

    def dense_columns(self, columns: np.ndarray) -> np.ndarray:
        """The rows restricted to `columns` (sorted), dense: rows × len(columns), never rows ×
        vocabulary."""
        local = np.zeros((self.shape[0], len(columns)), dtype=np.float32)
        where, hit = self._positions(columns)
        local[self.rows[hit], where[hit]] = self.data[hit]
        return local

    def times(self, columns: np.ndarray, other: np.ndarray, *, block: int = 1 << 21) -> np.ndarray:
        """self @ B.T, B (k × vocabulary) being zero outside `columns` (sorted) and given there as
        `other` (k × len(columns)): rows × k, computed over the non-zeros that fall in `columns`
        (about block values at a time), so neither side is made dense over the vocabulary."""
        out = np.zeros((self.shape[0], len(other)), dtype=np.float32)
        where, hit = self._positions(columns)
        by_column = np.ascontiguousarray(other.T, dtype=np.float32)
        step = max(1, block // max(len(other), 1))
        for start in range(0, len(hit), step):
            part = hit[start:start + step]
            rows = self.rows[part]
            firsts = np.flatnonzero(np.concatenate([[True], rows[1:] != rows[:-1]]))
            values = self.data[part, None] * by_column[where[part]]
            out[rows[firsts]] += np.add.reduceat(values, firsts, axis=0)
        return out

    def _positions(self, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the index in `columns` of each non-zero's column or -1, the non-zeros in `columns`)."""
        position = np.full(self.n_cols, -1, dtype=np.int64)
        position[columns] = np.arange(len(columns))
        where = position[self.indices]
        return where, np.flatnonzero(where >= 0)

    def row_slice(self, start: int, stop: int) -> Sparse:
        """Rows start..stop-1 (views where possible)."""
        stop = min(stop, self.shape[0])
        lo, hi = int(self.indptr[start]), int(self.indptr[stop])
        return Sparse(self.indptr[start:stop + 1] - lo, self.indices[lo:hi], self.data[lo:hi], self.n_cols,
                      self.rows[lo:hi] - start)

    def used_columns(self) -> np.ndarray:
        """The sorted columns with a non-zero."""
        return np.unique(self.indices)


@dataclass
class Vocabulary:
    columns: np.ndarray  # int64 per word code: its column, or -1 when left out
    idf: np.ndarray      # float32 per column
    words: list[str]     # column -> word

    def __len__(self) -> int:
        return len(self.words)


def fit(c: Counts, docs: np.ndarray, max_features: int = MAX_FEATURES) -> Vocabulary:
    """Over the papers `docs` (row numbers of c): the words of at least two of them and at most
    MAX_DF of them (any word when there are fewer than four), the max_features most frequent
    (ties: alphabetical); smoothed idf. Columns follow the words' alphabetical order, the order of
    each row's words in `c`, so the result never depends on the words' codes."""
    n = len(docs)
    wanted = np.zeros(c.n_docs, dtype=bool)
    wanted[docs] = True
    df = np.bincount(c.codes[wanted[c.rows]], minlength=c.n_codes)
    ok = df >= 1
    if n >= 4:
        ok &= (df >= 2) & (df <= max(2, int(MAX_DF * n)))
    candidates = np.flatnonzero(ok)
    words = [c.words[i] for i in candidates]
    alphabetical = candidates[np.asarray(sorted(range(len(words)), key=words.__getitem__), dtype=np.int64)]
    chosen = alphabetical[np.sort(np.argsort(-df[alphabetical], kind="stable")[:max_features])]
    columns = np.full(c.n_codes, -1, dtype=np.int64)
    columns[chosen] = np.arange(len(chosen))
    idf = (np.log((1 + n) / (1 + df[chosen])) + 1).astype(np.float32)
    return Vocabulary(columns, idf, [c.words[i] for i in chosen])


def transform(vocab: Vocabulary, c: Counts, docs: np.ndarray) -> Sparse:
    """L2-normalised rows of sublinear tf × idf over the vocabulary, for the papers `docs`
    (row numbers of c, in that order)."""
    position = np.full(c.n_docs, -1, dtype=np.int64)
    position[docs] = np.arange(len(docs))
    col = vocab.columns[c.codes]
    keep = (position[c.rows] >= 0) & (col >= 0)
    rows, col, tf = position[c.rows[keep]], col[keep], c.counts[keep]
    order = np.argsort(rows, kind="stable")
    rows, col, tf = rows[order], col[order], tf[order]
    data = ((1.0 + np.log(tf)) * vocab.idf[col]).astype(np.float32)
    norms = np.sqrt(np.bincount(rows, weights=data.astype(np.float64) ** 2, minlength=len(docs)))
    data /= np.where(norms == 0, 1, norms)[rows].astype(np.float32)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(docs)))]).astype(np.int64)
    return Sparse(indptr, col.astype(np.int32), data, len(vocab), rows)


# -- a linear classifier ----------------------------------------------------------------------


def dot(subscripts: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A product of dense float32 arrays (np.einsum `subscripts`, e.g. "ij,j->i") in numpy's own
    loops, on one thread: OpenBLAS would spread these small products over threads that then spin,
    which on a busy machine cost 100 times the CPU (bench_recommend: 6 ms instead of 0.06 ms for a
    2,020 × 384 matrix times a vector), and whose sums depend on the number of threads."""
    return np.einsum(subscripts, a, b.astype(np.float32, copy=False))


Loss = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, float]]


def train_linear(matvec: Callable[[np.ndarray], np.ndarray], rmatvec: Callable[[np.ndarray], np.ndarray],
                 dim: int, y: np.ndarray, weights: np.ndarray, *, l2: float, loss: str = "logistic",
                 iters: int = 200, row_norm: float = 1.0) -> tuple[np.ndarray, float]:
    """(theta, bias) minimising sum(weights * loss(y, X theta + b)) + l2/2 |theta|^2 by
    accelerated gradient descent (Nesterov); `weights` sum to 1, y in {0, 1}.

    loss "logistic" is logistic regression; "squared_hinge" is a linear SVM's L2 loss (the one
    sklearn's LinearSVC minimises by default). X is given by matvec (X @ w) and rmatvec (X.T @ g),
    so it may be dense or `Sparse`; rows of norm <= row_norm bound the step size.
    """
    sign = 2.0 * y - 1.0
    curvature = (0.25 if loss == "logistic" else 2.0) * (row_norm ** 2 + 1.0) + l2
    step = 1.0 / curvature
    theta, bias = np.zeros(dim), 0.0
    look_t, look_b, t = theta.copy(), bias, 1.0
    for _ in range(iters):
        z = matvec(look_t) + look_b
        if loss == "logistic":
            g = (1.0 / (1.0 + np.exp(-z)) - y) * weights
        else:
            margin = np.maximum(0.0, 1.0 - sign * z)
            g = -2.0 * sign * margin * weights
        new_t = look_t - step * (rmatvec(g) + l2 * look_t)
        new_b = look_b - step * float(g.sum())
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        momentum = (t - 1.0) / t_next
        look_t = new_t + momentum * (new_t - theta)
        look_b = new_b + momentum * (new_b - bias)
        theta, bias, t = new_t, new_b, t_next
    return theta, bias
