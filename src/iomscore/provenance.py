"""What a score file is: its provenance, in Parquet metadata or a JSON sidecar.

A score file from ``iomscore score --out`` carries the as-of date, the
weight table's name and SHA-256, the input file's name and SHA-256, the
window (years), the band thresholds (points), the counts and the iomscore
version. Parquet output holds them as JSON under the schema metadata key
``iomscore``; CSV output gets them in ``OUT.meta.json`` beside it, since a
comment line would break the readers analysts use.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping
from typing import Any

__all__ = ["METADATA_KEY", "file_sha256", "read_parquet_metadata", "sidecar_path", "to_json"]

METADATA_KEY = "iomscore"


def file_sha256(path: str | os.PathLike[str], stop: threading.Event | None = None) -> str | None:
    """The SHA-256 of a file's bytes, as 64 hex digits (read in 1 MiB pieces); ``None``
    if ``stop`` is set before the end (a hash taken on a thread of its own, for a
    command that failed meanwhile)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while piece := handle.read(1 << 20):
            if stop is not None and stop.is_set():
                return None
            digest.update(piece)
    return digest.hexdigest()


def sidecar_path(out: str) -> str:
    """The sidecar of a CSV output: ``OUT.meta.json``."""
    return out + ".meta.json"


def to_json(metadata: Mapping[str, Any]) -> str:
    """The metadata as indented JSON text, keys in the order given, ending in a newline."""
    return json.dumps(metadata, indent=2, ensure_ascii=False) + "\n"


def read_parquet_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The provenance stored in a Parquet score file (``{}`` if it has none)."""
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    raw = (schema.metadata or {}).get(METADATA_KEY.encode())
    return {} if raw is None else json.loads(raw)
