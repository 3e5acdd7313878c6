"""The full rescore: every row's score from the count matrix and a points table.

Two kernels compute the same product (count matrix @ points, int64):

* ``csr_matvec`` reads the CSR matrix itself. It needs nothing but the matrix.
* ``sell_matvec`` reads a *rescore layout*, a sliced ELLPACK copy of the
  matrix (SELL-16-sigma: rows sorted by length within windows of 4,096 rows,
  16 rows to a slice, entries stored lane by lane). Sixteen rows are scored
  at once in SIMD lanes with a hardware gather of the points, and no branch
  ends a row: about 1.6 times the speed of the CSR kernel (measured from
  2,000,000 to 200,000,000 events), for a copy of the matrix (4 bytes per
  entry, about 1% padding).

Building the layout costs four to ten CSR rescores (43-61 ms against 10 ms
at 20,000,000 events) and saves about a third of one on every later rescore,
so it pays only when the same events are rescored many times (a series of
what-ifs, bulk experiments, a benchmark). The engine rents before it buys: it
reads the CSR until the same events have been rescored in full
:data:`LAYOUT_AFTER` times, then builds the layout and keeps it until the
events change. A reweight, or a what-if then a reweight, never pays for it.
The build's cost over one rescore's saving ranged from 11 (2M events) to 25
(200M) in the scaling series; 16 sits between, so a series of any length
costs within about two to three times what knowing its length in advance
would have (the ski-rental argument).

The lanes of the layout kernel sum in int32. :meth:`RescoreLayout.fits`
checks that no row can overflow (largest row's events x largest points
value < 2**31); when a table breaks that bound the CSR kernel, which sums in
int64, is used instead. Neither kernel can wrap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._core import csr_matvec, sell_build, sell_matvec

__all__ = ["LAYOUT_AFTER", "RescoreLayout", "full_scores"]

#: Full rescores of the same events after which the engine builds the layout:
#: about the build's cost over one rescore's saving (11 to 25, by cohort size).
LAYOUT_AFTER = 16

_INT32_MAX = int(np.iinfo(np.int32).max)


@dataclass(frozen=True)
class RescoreLayout:
    """A SELL-16-sigma copy of a count matrix with uint16 counts (see the module doc).

    Attributes
    ----------
    slice_ptr : int64 array
        First entry of each slice of 16 rows.
    perm : int32 array
        The matrix row in each lane.
    kinds, counts : uint16 arrays
        The entries, lane by lane, padded with count 0.
    heaviest : int
        The most events (sum of counts) in one row.
    n_rows : int
        Rows of the matrix.
    """

    slice_ptr: np.ndarray
    perm: np.ndarray
    kinds: np.ndarray
    counts: np.ndarray
    heaviest: int
    n_rows: int

    def __post_init__(self) -> None:
        # The kernels write each lane's score to out[perm[lane]]: check perm once, here.
        padded = self.perm.shape[0]
        if padded and (int(self.perm.min()) < 0 or int(self.perm.max()) >= padded):
            raise ValueError("perm must number the lanes 0 .. len(perm) - 1")

    @classmethod
    def build(
        cls, indptr: np.ndarray, counts: np.ndarray, kinds: np.ndarray, sigma: int = 4096
    ) -> RescoreLayout:
        """The layout of a CSR matrix (``counts`` must be uint16).

        ``sigma`` (rows, a multiple of 16) is the window within which rows are
        sorted by length: wider windows pad less, narrower ones keep each
        slice's writes closer together.
        """
        if counts.dtype != np.uint16:
            raise ValueError("the rescore layout holds uint16 counts only")
        slice_ptr, perm, sell_kinds, sell_counts, heaviest = sell_build(
            indptr, kinds, counts, sigma
        )
        for array in (slice_ptr, perm, sell_kinds, sell_counts):
            array.setflags(write=False)
        return cls(slice_ptr, perm, sell_kinds, sell_counts, heaviest, indptr.shape[0] - 1)

    @property
    def nbytes(self) -> int:
        """Bytes held by the layout's arrays."""
        return sum(a.nbytes for a in (self.slice_ptr, self.perm, self.kinds, self.counts))

    def fits(self, points: np.ndarray) -> bool:
        """Whether every row's score under ``points`` fits the int32 lanes."""
        top = int(points.max()) if points.size else 0
        return self.heaviest * top <= _INT32_MAX

    def scores(self, points: np.ndarray, threads: int = 0, kernel: str | None = None) -> np.ndarray:
        """Row scores under ``points`` (int64, matrix row order); requires :meth:`fits`."""
        if not self.fits(points):
            raise OverflowError("a row's score could exceed the layout's int32 lanes")
        return sell_matvec(
            self.slice_ptr,
            self.perm,
            self.kinds,
            self.counts,
            points,
            self.n_rows,
            threads=threads,
            kernel=kernel,
        )


def full_scores(
    indptr: np.ndarray,
    kinds: np.ndarray,
    counts: np.ndarray,
    points: np.ndarray,
    layout: RescoreLayout | None = None,
) -> np.ndarray:
    """Every row's score (points), from ``layout`` where given and safe, else from the CSR."""
    if layout is not None and layout.fits(points):
        return layout.scores(points)
    return csr_matvec(indptr, kinds, counts, points)
