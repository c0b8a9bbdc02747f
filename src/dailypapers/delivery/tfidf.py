"""Sparse tf-idf features of titles and abstracts, and a linear classifier trained on them or on
dense vectors: what per-member recommendations use (delivery/recommend.py).

numpy only (no scipy): a `Sparse` matrix is CSR arrays (indptr, indices, data), so its memory is
its non-zeros, never rows × vocabulary. The vocabulary is fitted on the training papers (the
member's library, their rejections and a bounded sample of the candidates) and capped at
MAX_FEATURES words, so a model's size does not grow with the number of candidates; candidates
are transformed and scored in chunks.
"""

from __future__ import annotations

import itertools
import math
import re
from array import array
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from dailypapers.search.phrases import FIELD_WORDS, STOPWORDS

MAX_FEATURES = 20_000
MAX_DF = 0.5       # words in more than half the training papers tell nothing apart
_WORD = re.compile(r"[a-z][a-z0-9\-]{2,}")
_STOP = STOPWORDS | FIELD_WORDS


def _words(title: str, abstract: str) -> list[str]:
    """Words of a paper, the title counted twice (stop words are dropped later, by code)."""
    return _WORD.findall(f"{title} {title} {abstract}".lower())


def tokens(title: str, abstract: str) -> list[str]:
    """Words of a paper without stop words, the title counted twice."""
    return [w for w in _words(title, abstract) if w not in _STOP]


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
        products = self.data * w[self.indices]
        if not len(products):
            return np.zeros(self.shape[0])
        starts = np.minimum(self.indptr[:-1], len(products) - 1)
        out = np.add.reduceat(products, starts)
        out[self.indptr[:-1] == self.indptr[1:]] = 0.0
        return out

    def rmatvec(self, g: np.ndarray) -> np.ndarray:
        """self.T @ g."""
        return np.bincount(self.indices, weights=self.data * g[self.rows], minlength=self.n_cols)

    def dense_columns(self, columns: np.ndarray) -> np.ndarray:
        """The rows restricted to `columns` (sorted), dense: rows × len(columns), never rows ×
        vocabulary."""
        local = np.zeros((self.shape[0], len(columns)), dtype=np.float32)
        if not len(columns) or not self.nnz:
            return local
        where = np.minimum(np.searchsorted(columns, self.indices), len(columns) - 1)
        hit = columns[where] == self.indices
        local[self.rows[hit], where[hit]] = self.data[hit]
        return local

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
class Counts:
    """Term counts of a batch of papers over integer word codes, CSR-like (rows sorted)."""

    rows: np.ndarray    # int64 per non-zero
    codes: np.ndarray   # int64 per non-zero
    counts: np.ndarray  # int64 per non-zero
    n_docs: int
    words: list[str]    # code -> word
    stop: np.ndarray    # bool per code: a stop word


def count(texts: Sequence[tuple[str, str]]) -> Counts:
    """Term counts of (title, abstract) pairs: one regex pass per paper, the rest in numpy."""
    table: defaultdict[str, int] = defaultdict(itertools.count().__next__)  # word -> code, first seen first
    code = table.__getitem__
    flat = array("q")  # the codes of every paper's words, one after the other (no word strings kept)
    lengths = np.empty(len(texts), dtype=np.int64)
    for i, (title, abstract) in enumerate(texts):
        before = len(flat)
        flat.extend(map(code, _words(title, abstract)))
        lengths[i] = len(flat) - before
    codes = np.frombuffer(flat, dtype=np.int64) if len(flat) else np.zeros(0, dtype=np.int64)
    n_codes = max(len(table), 1)
    keys = np.repeat(np.arange(len(texts), dtype=np.int64), lengths) * n_codes + codes
    unique, counts = np.unique(keys, return_counts=True)
    stop = np.zeros(n_codes, dtype=bool)
    stop[[table[w] for w in _STOP if w in table]] = True
    return Counts(unique // n_codes, unique % n_codes, counts, len(texts), list(table), stop)


@dataclass
class Vocabulary:
    columns: np.ndarray  # int64 per word code: its column, or -1 when left out
    idf: np.ndarray      # float32 per column
    words: list[str]     # column -> word

    def __len__(self) -> int:
        return len(self.words)


def fit(c: Counts, docs: np.ndarray, max_features: int = MAX_FEATURES) -> Vocabulary:
    """Over the papers `docs` (row numbers of c): the words of at least two of them and at most
    MAX_DF of them (any word when there are fewer than four), not stop words, the max_features
    most frequent (ties: first seen); smoothed idf."""
    n = len(docs)
    wanted = np.zeros(c.n_docs, dtype=bool)
    wanted[docs] = True
    in_docs = wanted[c.rows]
    df = np.bincount(c.codes[in_docs], minlength=len(c.stop))
    ok = (df >= 1) & ~c.stop
    if n >= 4:
        ok &= (df >= 2) & (df <= max(2, int(MAX_DF * n)))
    candidates = np.flatnonzero(ok)
    chosen = np.sort(candidates[np.argsort(-df[candidates], kind="stable")[:max_features]])
    columns = np.full(len(c.stop), -1, dtype=np.int64)
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
