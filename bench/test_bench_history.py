"""The history figures' script at smoke size: every peer checked equal to the engine.

``bench/history_figures.py`` times explain, the cohort forecast, the archive's
day, ``scores_at`` and timelines against their peers at national size; here it
runs once on a small cohort so its checks (each peer's result equal to the
engine's before anything is timed) run in CI and the script does not rot.
"""

from __future__ import annotations

import history_figures

SMOKE = ["--nominals", "2000", "--events", "16000", "--days", "5", "--after-days", "2"]


def test_history_figures_smoke(capsys):
    figures = history_figures.main([*SMOKE, "--rounds", "2"])
    table = capsys.readouterr().out
    for key, what, *_ in history_figures.ROWS:
        assert key in figures, key
        assert what in table
    assert figures["archived_events"] > 0
