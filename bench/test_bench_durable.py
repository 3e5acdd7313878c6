"""The durable figures' script at smoke size: every engine checked equal to its peer.

``bench/durable_figures.py`` times reopening a directory against reading the
Parquet export, a journaled day against an in-memory one, bytes on disk per
event, the checkpoint and the first bulk load at national size; here it runs
once on a small cohort, in a temporary directory, so its checks (the reopened
engine's scores equal to the Parquet engine's, the durable engine's equal to
the in-memory one's after the days) run in CI and the script does not rot.
"""

from __future__ import annotations

import durable_figures

SMOKE = ["--nominals", "2000", "--events", "16000", "--days", "5", "--fsyncs", "2"]


def test_durable_figures_smoke(capsys, tmp_path):
    figures = durable_figures.main([*SMOKE, "--rounds", "2", "--dir", str(tmp_path)])
    table = capsys.readouterr().out
    for key, what, *_ in durable_figures.ROWS:
        assert key in figures, key
        assert what in table
    assert figures["archived_events"] > 0
    assert list(tmp_path.iterdir()) == []  # the run's directories are removed
