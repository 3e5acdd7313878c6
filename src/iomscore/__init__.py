"""iomscore: a compiled scoring engine for Integrated Offender Management.

Nominals (pseudonymous integer ids) are scored on their events of the last
two years under a weight table of integer points per (dataset, Home Office
offence code), and banded LOW / MEDIUM / HIGH. See README.md for the rules
and :mod:`iomscore.reference` for their executable specification.
"""

from __future__ import annotations

from .batch import EventError
from .codes import OffenceCodeError, normalize_offence
from .engine import CountMatrix, Engine, EngineError, WeightsRecord
from .results import (
    BAND_NAMES,
    AdvanceReport,
    BandChanges,
    IngestReport,
    RetractReport,
    ReweightReport,
    ScoreTable,
    WhatIf,
)
from .weights import WeightFileError, Weights

__version__ = "0.1.0"

__all__ = [
    "BAND_NAMES",
    "AdvanceReport",
    "BandChanges",
    "CountMatrix",
    "Engine",
    "EngineError",
    "EventError",
    "IngestReport",
    "OffenceCodeError",
    "RetractReport",
    "ReweightReport",
    "ScoreTable",
    "WeightFileError",
    "Weights",
    "WeightsRecord",
    "WhatIf",
    "__version__",
    "normalize_offence",
]
