"""iomscore: a compiled scoring engine for Integrated Offender Management.

Nominals (pseudonymous integer ids) are scored on their events of the last
two years under a weight table of integer points per (dataset, Home Office
offence code), and banded LOW / MEDIUM / HIGH. See README.md for the rules
and :mod:`iomscore.reference` for their executable specification.
"""

from __future__ import annotations

from ._version import __version__
from .batch import EventError
from .codes import OffenceCodeError, normalize_offence
from .engine import CountMatrix, Engine, EngineError, WeightsRecord
from .errors import DerivationError, FileAccessError, IomscoreError, OptionError, StateError
from .oneshot import OneShot, score_events, score_file
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

__all__ = [
    "BAND_NAMES",
    "AdvanceReport",
    "BandChanges",
    "CountMatrix",
    "DerivationError",
    "Engine",
    "EngineError",
    "EventError",
    "FileAccessError",
    "IngestReport",
    "IomscoreError",
    "OffenceCodeError",
    "OneShot",
    "OptionError",
    "RetractReport",
    "ReweightReport",
    "ScoreTable",
    "StateError",
    "WeightFileError",
    "Weights",
    "WeightsRecord",
    "WhatIf",
    "__version__",
    "normalize_offence",
    "score_events",
    "score_file",
]
