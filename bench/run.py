"""Run the benchmarks and write bench/RESULTS.md (and print it).

One command for the whole table (force, national and the scaling series)::

    python bench/run.py --all

or one kind of run at a time::

    python bench/run.py --size force        # suite + cold start + memory at 250k / 2M
    python bench/run.py --size national     # the same at 1M / 20M
    python bench/run.py --scaling           # 100k nominals upwards, one subprocess a point
    python bench/run.py --report            # only rebuild RESULTS.md from bench/.results/

Every run saves its raw results under ``bench/.results/`` (pytest-benchmark
JSON, and JSON for cold start, memory and scaling) and then rebuilds
``RESULTS.md`` from everything saved there, so a national run adds to a force
run instead of replacing it. Run from the repository root or anywhere: the
in-place build is found through ``src/`` (``PYTHONPATH`` is set for the
subprocesses).

Ratios are peer time / engine time (pytest-benchmark medians): above 1 the
engine leads, below 1 the peer does (marked in bold).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / ".results"
REPORT = BENCH / "RESULTS.md"
PLOT = BENCH / "scaling.png"

# Scaling series: (nominals, events), 20 events a nominal like the national size.
SCALING = [
    (100_000, 2_000_000),
    (300_000, 6_000_000),
    (1_000_000, 20_000_000),
    (3_000_000, 60_000_000),
    (10_000_000, 200_000_000),
]
SIZE_ORDER = ("smoke", "force", "national")
OP_ORDER = (
    "score",
    "advance",
    "rescore_full",
    "rescore_partial",
    "matrix_build",
    "cold_ingest",
    "ingest",
)
PEER_ORDER = ("numpy", "numpy_coded", "scipy", "pandas", "polars", "duckdb", "reference")
GiB = 1 << 30


# --------------------------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(REPO / "src"), str(BENCH)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def _meminfo() -> dict[str, int]:
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, value = line.split(":")
            out[key] = int(value.split()[0]) * 1024
    return out


def _loadavg() -> list[str]:
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gib": round(_meminfo()["MemTotal"] / GiB, 1),
        "loadavg": _loadavg(),
    }
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in lscpu.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in (
                "Model name",
                "CPU(s)",
                "Core(s) per socket",
                "Thread(s) per core",
                "L3 cache",
                "Flags",
            ):
                value = value.strip()
                if key.strip() == "Flags":
                    value = " ".join(f for f in value.split() if f.startswith("avx"))
                    key = "AVX flags"
                info[key.strip()] = value
    except (OSError, subprocess.CalledProcessError):
        pass
    versions = {}
    for name in ("numpy", "numba", "scipy", "pandas", "polars", "duckdb", "pyarrow"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = "missing"
    info["versions"] = versions
    return info


# --------------------------------------------------------------------------------------------
# The pytest-benchmark suite
# --------------------------------------------------------------------------------------------


def run_suite(size: str, extra: list[str]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"suite-{size}.json"
    meta = {"size": size, "started": _now(), "machine_before": machine()}
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(BENCH),
        "-p",
        "no:cacheprovider",
        "-q",
        "--benchmark-enable",
        f"--bench-size={size}",
        f"--benchmark-json={out}",
        "--benchmark-columns=median,min,rounds",
        "--benchmark-sort=name",
        *extra,
    ]
    print("$", " ".join(cmd), flush=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=_env(), check=False)
    meta["seconds"] = round(time.perf_counter() - start, 1)
    meta["loadavg_after"] = _loadavg()
    meta["returncode"] = proc.returncode
    (RESULTS / f"suite-{size}.meta.json").write_text(json.dumps(meta, indent=2))
    if proc.returncode != 0:
        print(
            f"pytest exited {proc.returncode}: some benchmarks failed (see above)", file=sys.stderr
        )
    return out


def _now() -> str:
    return datetime.datetime.now().isoformat(timespec="seconds")


# --------------------------------------------------------------------------------------------
# Workers (run in fresh subprocesses)
# --------------------------------------------------------------------------------------------


def _status() -> dict[str, int]:
    """Current and peak resident set size (bytes) from /proc/self/status."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) * 1024
    return out


def _reset_peak() -> bool:
    """Reset the peak RSS (VmHWM, ru_maxrss) so the next phase's peak is its own."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _malloc_trim() -> None:
    """Hand freed heap pages back to the OS (glibc), so RSS shows what is held."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def worker_coldstart() -> dict[str, Any]:
    """Import + first score (+ first reweight, the first Numba call) in this fresh process."""
    t0 = time.perf_counter()
    import iomscore
    from iomscore import Engine, Weights

    t_import = time.perf_counter() - t0
    from iomscore.synth import cohort

    c = cohort(2_000, 16_000, seed=1)
    try:
        weights = Weights.default()
    except Exception:
        import peers

        weights = peers.synthetic_weights(c)
    t1 = time.perf_counter()
    engine = Engine(weights, c.as_of)
    engine.ingest(c)
    table = engine.scores()
    t_score = time.perf_counter() - t1
    points = weights.points.copy()
    points[points == 0] = 1
    points = points + 1
    points[points > Weights.MAX_POINTS] = Weights.MAX_POINTS - 1
    new = Weights(weights.datasets, weights.offences, points, name="cold")
    t2 = time.perf_counter()
    engine.reweight(new)
    t_reweight = time.perf_counter() - t2
    return {
        "version": iomscore.__version__,
        "import_s": t_import,
        "first_score_s": t_score,
        "first_reweight_s": t_reweight,
        "rows": len(table),
    }


def worker_memory(n_nominals: int, n_events: int) -> dict[str, Any]:
    """Bytes per event: the engine's own count, resident growth and the ingest's peak."""
    import tracemalloc

    import numpy as np
    import peers

    case = peers.make_case(n_nominals, n_events, extra_days=1, seed=2026)
    events = case.events
    n = len(events)
    from iomscore import Engine

    _warm_up()
    _malloc_trim()
    can_reset = _reset_peak()
    before = _status()
    tracemalloc.start()
    engine = Engine(case.weights, case.as_of)
    engine.ingest(events)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after = _status()
    _malloc_trim()
    trimmed = _status()
    mem = engine.memory()
    live = mem["live_events"]
    _reset_peak()
    base = _status()
    matrix = engine.matrix()
    matrix_peak = _status()["VmHWM"] - base["VmRSS"]
    matrix_bytes = sum(
        a.nbytes for a in (matrix.indptr, matrix.indices, matrix.data, matrix.nominal_id)
    )
    return {
        "nominals": n_nominals,
        "events": n,
        "live_events": live,
        "engine_bytes_per_event": mem["bytes_per_event"],
        "engine_total_bytes_per_event": mem["total_bytes"] / live,
        "rss_growth_per_event": (after["VmRSS"] - before["VmRSS"]) / live,
        "rss_growth_trimmed_per_event": (trimmed["VmRSS"] - before["VmRSS"]) / live,
        "ingest_peak_per_event": (after["VmHWM"] - before["VmRSS"]) / live if can_reset else None,
        "ingest_numpy_traced_peak_per_event": traced_peak / live,
        "matrix_bytes_per_event": matrix_bytes / live,
        "matrix_build_peak_per_event": matrix_peak / live if can_reset else None,
        "input_bytes_per_event": sum(
            getattr(events, a).nbytes
            for a in ("event_id", "nominal_id", "dataset_index", "offence_index", "date")
        )
        / n,
        "peak_reset_supported": can_reset,
        "np": np.__version__,
    }


def _best(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _scipy_matvec(m: Any, pts: Any) -> float:
    a = m.to_scipy()
    return _best(lambda: a @ pts)


def _numpy_bincount(store: Any, pts: Any) -> float:
    """numpy's rescore from the store's own columns (rows already coded)."""
    import numpy as np

    alive = store.event_kinds() != 0xFFFF
    rows, kinds = store.event_nominals()[alive], store.event_kinds()[alive]
    return _best(lambda: np.bincount(rows, weights=pts[kinds], minlength=store.n_nominals), 3)


def _warm_up() -> None:
    """Load (or compile) every kernel on a tiny case, so no timing below includes it."""
    import peers

    small = peers.make_case(300, 3_000, extra_days=1, seed=1)
    engine = small.loaded_engine()
    engine.matrix()
    for new in (small.reweight_full, small.base, small.reweight_partial, small.base):
        engine.reweight(new.weights)
    engine.advance(small.day(1))
    engine.ingest(small.days[1])


def worker_point(n_nominals: int, n_events: int) -> dict[str, Any]:
    """One point of the scaling series: the engine's operations and the cheapest peers."""
    import numpy as np
    import peers

    from iomscore import Engine
    from iomscore._core import csr_matvec

    _warm_up()
    t = time.perf_counter()
    case = peers.make_case(n_nominals, n_events, extra_days=3, seed=2026)
    gen = time.perf_counter() - t
    out: dict[str, Any] = {"nominals": n_nominals, "events": len(case.events), "generate_s": gen}
    _reset_peak()
    base = _status()["VmRSS"]
    t = time.perf_counter()
    engine = Engine(case.weights, case.as_of)
    engine.ingest(case.events)
    out["cold_ingest_s"] = time.perf_counter() - t
    out["ingest_peak_bytes_per_event"] = (_status()["VmHWM"] - base) / len(case.events)
    out["engine_bytes_per_event"] = engine.memory()["bytes_per_event"]
    # Keep only what the rest needs (the tables and a copy of day 1), and let the cohort go.
    days = {d: c.take(np.arange(len(c))) for d, c in case.days.items()}
    dates = {d: case.day(d) for d in case.days}
    full, partial, base_w = (
        case.reweight_full.weights,
        case.reweight_partial.weights,
        case.base.weights,
    )
    pts = case.reweight_full.points
    del case
    _malloc_trim()
    out["score_s"] = _best(engine.scores, 3)
    t = time.perf_counter()
    m = engine.matrix()
    out["matrix_build_s"] = time.perf_counter() - t
    out["nnz"] = m.nnz
    out["matvec_s"] = _best(lambda: csr_matvec(m.indptr, m.indices, m.data, pts))

    def floor():
        for arr in (m.indptr, m.indices, m.data):
            raw = arr.view(np.uint8)
            whole = raw.size // 8 * 8
            np.add.reduce(raw[:whole].view(np.uint64))

    out["floor_s"] = _best(floor)
    out["matrix_bytes"] = int(m.indptr.nbytes + m.indices.nbytes + m.data.nbytes)
    with contextlib.suppress(ImportError):
        out["scipy_matvec_s"] = _scipy_matvec(m, pts)
    out["numpy_bincount_s"] = _numpy_bincount(engine._store, pts)
    times = []
    for new in (full, base_w, full):
        t = time.perf_counter()
        engine.reweight(new)
        times.append(time.perf_counter() - t)
    out["reweight_full_s"] = min(times)
    engine.reweight(base_w)
    t = time.perf_counter()
    report = engine.reweight(partial)
    out["reweight_partial_first_s"] = time.perf_counter() - t  # includes the CSC build
    out["partial_mode"] = report.mode
    times = []
    for new in (base_w, partial, base_w):
        t = time.perf_counter()
        engine.reweight(new)
        times.append(time.perf_counter() - t)
    out["reweight_partial_s"] = min(times)
    # The first day after the bulk load, then the following days (steady state).
    times = []
    for d in sorted(days):
        t = time.perf_counter()
        engine.advance(dates[d])
        engine.ingest(days[d])
        times.append(time.perf_counter() - t)
    out["advance_first_s"] = times[0]
    out["advance_s"] = min(times[1:])
    out["peak_rss_bytes"] = _status()["VmHWM"]
    return out


# --------------------------------------------------------------------------------------------
# Orchestration of subprocess measurements
# --------------------------------------------------------------------------------------------


def _worker(
    args: list[str], env: dict[str, str] | None = None, timeout: float = 7200
) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", *args]
    t = time.perf_counter()
    proc = subprocess.run(
        cmd,
        cwd=REPO,
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"worker {args} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = wall
    return result


def cold_start(repeats: int = 3) -> dict[str, Any]:
    """Fresh processes: with an empty Numba cache (compiles), then with it warm."""
    cache = Path(tempfile.mkdtemp(prefix="iomscore-numba-"))
    try:
        env = _env()
        env["NUMBA_CACHE_DIR"] = str(cache)
        cold = _worker(["coldstart"], env)
        warm = [_worker(["coldstart"], env) for _ in range(repeats)]
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    base = [_python_startup() for _ in range(repeats)]
    keys = ("import_s", "first_score_s", "first_reweight_s", "process_wall_s")
    warm_best = {k: min(w[k] for w in warm) for k in keys}
    return {"cold": cold, "warm": warm_best, "python_startup_s": min(base)}


def _python_startup() -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - t


def memory(size: str) -> dict[str, Any]:
    from bench_support import SIZES

    s = SIZES[size]
    return _worker(["memory", str(s.n_nominals), str(s.n_events)])


def scaling(points: list[tuple[int, int]], margin: float = 1.25) -> list[dict[str, Any]]:
    """Each point in its own process, while the last point's peak, scaled, fits in free memory."""
    series: list[dict[str, Any]] = []
    for n_nominals, n_events in points:
        available = _meminfo()["MemAvailable"]
        if series:
            last = series[-1]
            need = last["peak_rss_bytes"] / last["events"] * n_events * margin
        else:
            need = 200 * n_events
        if need > available - 2 * GiB:
            series.append(
                {
                    "nominals": n_nominals,
                    "events": n_events,
                    "skipped": (
                        f"needs about {need / GiB:.1f} GiB, {available / GiB:.1f} GiB available"
                    ),
                }
            )
            print(f"scaling: stop before {n_nominals:,} / {n_events:,}: {series[-1]['skipped']}")
            break
        print(f"scaling: {n_nominals:,} nominals / {n_events:,} events ...", flush=True)
        point = _worker(["point", str(n_nominals), str(n_events)])
        point["loadavg"] = _loadavg()
        series.append(point)
        print(json.dumps(point), flush=True)
        _save("scaling.json", {"machine": machine(), "points": series})
    return series


def _save(name: str, data: Any) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / name).write_text(json.dumps(data, indent=2, default=str))


def _load(name: str) -> Any:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


def _fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def _fmt_ratio(r: float | None) -> str:
    if r is None:
        return "–"
    text = f"{r:.1f}×" if r >= 10 else f"{r:.2f}×"
    return f"**{text}**" if r < 1 else text


def _groups(suite: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """operation -> impl -> {median, min, rounds, extra} from a pytest-benchmark JSON."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for b in suite.get("benchmarks", []):
        info = b.get("extra_info", {})
        op, impl = info.get("operation"), info.get("impl")
        if not op or not impl:
            continue
        out.setdefault(op, {})[impl] = {
            "median": b["stats"]["median"],
            "min": b["stats"]["min"],
            "rounds": b["stats"]["rounds"],
            "extra": info,
        }
    return out


def _summary_table(all_groups: dict[str, dict[str, dict[str, dict[str, Any]]]]) -> list[str]:
    peers = [
        p for p in PEER_ORDER if any(p in g for gs in all_groups.values() for g in gs.values())
    ]
    lines = [
        "| operation | size | engine entry | engine median | " + " | ".join(peers) + " |",
        "|---|---|---|---:|" + "---:|" * len(peers),
    ]
    for op in OP_ORDER:
        for size in SIZE_ORDER:
            group = all_groups.get(size, {}).get(op)
            if not group:
                continue
            engines = [n for n in group if n.startswith("engine") and n != "engine_matvec_1thread"]
            if not any(p in group for p in peers):
                continue
            for e in engines:
                t = group[e]["median"]
                cells = [_fmt_ratio(group[p]["median"] / t) if p in group else "–" for p in peers]
                lines.append(
                    f"| {op} | {size} | {e} | {_fmt_time(t)} | " + " | ".join(cells) + " |"
                )
    return lines


def _detail_tables(size: str, groups: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    lines: list[str] = []
    for op in OP_ORDER:
        group = groups.get(op)
        if not group:
            continue
        ref = group.get("engine") or next(
            (v for k, v in group.items() if k.startswith("engine")), None
        )
        lines += [f"#### {op} | {size}", ""]
        if op in ("ingest", "cold_ingest"):
            lines += [
                "| implementation | median | min | rounds | events/s (median) |",
                "|---|---:|---:|---:|---:|",
            ]
            for name, r in sorted(group.items(), key=lambda kv: kv[1]["median"]):
                rate = r["extra"].get("events", 0) / r["median"]
                lines.append(
                    f"| {name} | {_fmt_time(r['median'])} | {_fmt_time(r['min'])} | "
                    f"{r['rounds']} | {rate / 1e6:.2f} M/s |"
                )
        else:
            lines += [
                "| implementation | median | min | rounds | ÷ engine |",
                "|---|---:|---:|---:|---:|",
            ]
            for name, r in sorted(group.items(), key=lambda kv: kv[1]["median"]):
                ratio = r["median"] / ref["median"] if ref else None
                lines.append(
                    f"| {name} | {_fmt_time(r['median'])} | {_fmt_time(r['min'])} | "
                    f"{r['rounds']} | {_fmt_ratio(ratio)} |"
                )
        lines.append("")
    return lines


def _floor_table(all_groups: dict[str, dict[str, dict[str, dict[str, Any]]]]) -> list[str]:
    lines = [
        "| size | matrix bytes | floor (numpy, 1 thread) | floor GB/s | "
        "engine reweight ÷ floor | engine_matvec ÷ floor | 1-thread matvec ÷ floor | "
        "engine_csr ÷ floor | scipy ÷ floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in SIZE_ORDER:
        g = all_groups.get(size, {}).get("rescore_full")
        if not g or "floor" not in g:
            continue
        f = g["floor"]
        nbytes = f["extra"].get("bytes", 0)

        def r(name: str, g=g, f=f) -> str:
            return f"{g[name]['median'] / f['median']:.1f}×" if name in g else "–"

        lines.append(
            f"| {size} | {nbytes / 1e6:.1f} MB | {_fmt_time(f['median'])} | "
            f"{nbytes / f['median'] / 1e9:.1f} | {r('engine')} | {r('engine_matvec')} | "
            f"{r('engine_matvec_1thread')} | {r('engine_csr')} | {r('scipy')} |"
        )
    return lines


def _machine_lines(info: dict[str, Any]) -> list[str]:
    versions = ", ".join(f"{k} {v}" for k, v in info.get("versions", {}).items())
    return [
        f"- CPU: {info.get('Model name', '?')}, {info.get('CPU(s)', info.get('cpus'))} CPUs "
        f"({info.get('Core(s) per socket', '?')} cores/socket, "
        f"{info.get('Thread(s) per core', '?')} "
        f"thread/core), L3 {info.get('L3 cache', '?')}, {info.get('AVX flags', '')}",
        f"- memory: {info.get('memory_gib')} GiB; Python {info.get('python')}; "
        f"{info.get('platform')}",
        f"- {versions}",
    ]


def build_report() -> str:
    lines = [
        "# iomscore benchmark results",
        "",
        f"Generated by `python bench/run.py` on {_now()}. Times are pytest-benchmark medians; "
        "ratios are peer time ÷ engine time (above 1 the engine leads; **bold** below 1: the "
        "peer leads). See bench/README.md for what each operation measures.",
        "",
    ]
    all_groups: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    metas = {}
    sizes = [s for s in SIZE_ORDER if (RESULTS / f"suite-{s}.json").exists()]
    if len(sizes) > 1 and "smoke" in sizes:
        sizes.remove("smoke")  # the smoke size is for CI; its times mean little
    for size in sizes:
        suite = _load(f"suite-{size}.json")
        if suite:
            all_groups[size] = _groups(suite)
            metas[size] = _load(f"suite-{size}.meta.json") or {}
    if metas:
        first = next(iter(metas.values())).get("machine_before", {})
        lines += ["## Machine", "", *_machine_lines(first)]
        for size, meta in metas.items():
            lines.append(
                f"- {size} run: started {meta.get('started')}, {meta.get('seconds')} s, "
                f"load average before {meta.get('machine_before', {}).get('loadavg')} "
                f"after {meta.get('loadavg_after')}"
            )
        lines += ["", "## Engine vs peers (peer ÷ engine)", "", *_summary_table(all_groups), ""]
        lines += [
            "## Full rescore vs the memory-bandwidth floor",
            "",
            *_floor_table(all_groups),
            "",
        ]
    cold = _load("coldstart.json")
    if cold:
        c, w = cold["cold"], cold["warm"]
        lines += [
            "## Cold start (fresh process; 2,000 nominals / 16,000 events)",
            "",
            "| | import iomscore | Engine + ingest + first scores() | "
            "first reweight (first Numba call) "
            "| whole process |",
            "|---|---:|---:|---:|---:|",
            f"| empty Numba cache (compiles) | {_fmt_time(c['import_s'])} | "
            f"{_fmt_time(c['first_score_s'])} "
            f"| {_fmt_time(c['first_reweight_s'])} | {_fmt_time(c['process_wall_s'])} |",
            f"| warm Numba cache | {_fmt_time(w['import_s'])} | {_fmt_time(w['first_score_s'])} "
            f"| {_fmt_time(w['first_reweight_s'])} | {_fmt_time(w['process_wall_s'])} |",
            "",
            f"(`python -c pass` takes {_fmt_time(cold['python_startup_s'])}.)",
            "",
        ]
    mems = [(s, _load(f"memory-{s}.json")) for s in sizes or SIZE_ORDER]
    mems = [(s, m) for s, m in mems if m]
    if mems:
        lines += [
            "## Memory per buffered event (bytes)",
            "",
            "| size | live events | engine.memory() events | engine total | RSS growth | "
            "RSS growth after malloc_trim | "
            "ingest peak (RSS) | numpy temporaries peak (tracemalloc) | count matrix | "
            "matrix build peak | input columns |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for s, m in mems:

            def b(k, m=m):
                v = m.get(k)
                return "–" if v is None else f"{v:.1f}"

            lines.append(
                f"| {s} | {m['live_events']:,} | {b('engine_bytes_per_event')} | "
                f"{b('engine_total_bytes_per_event')} | {b('rss_growth_per_event')} | "
                f"{b('rss_growth_trimmed_per_event')} | "
                f"{b('ingest_peak_per_event')} | {b('ingest_numpy_traced_peak_per_event')} | "
                f"{b('matrix_bytes_per_event')} | {b('matrix_build_peak_per_event')} | "
                f"{b('input_bytes_per_event')} |"
            )
        lines.append("")
    scale = _load("scaling.json")
    if scale:
        lines += [
            "## Scaling (one fresh process per point)",
            "",
            "![scaling](scaling.png)",
            "",
            "| nominals | events | cold ingest | events/s | scores() | matrix build | "
            "full-rescore kernel | "
            "floor | scipy @ | numpy bincount | reweight full | reweight partial | advance 1 day "
            "(first after load) | "
            "engine B/event | ingest peak B/event |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for p in scale["points"]:
            if "skipped" in p:
                lines.append(
                    f"| {p['nominals']:,} | {p['events']:,} | skipped: {p['skipped']} |" + " |" * 12
                )
                continue

            def ft(k, p=p):
                return _fmt_time(p[k]) if k in p else "–"

            lines.append(
                f"| {p['nominals']:,} | {p['events']:,} | {ft('cold_ingest_s')} | "
                f"{p['events'] / p['cold_ingest_s'] / 1e6:.2f} M/s | {ft('score_s')} | "
                f"{ft('matrix_build_s')} | {ft('matvec_s')} | {ft('floor_s')} | "
                f"{ft('scipy_matvec_s')} | "
                f"{ft('numpy_bincount_s')} | {ft('reweight_full_s')} | {ft('reweight_partial_s')} "
                f"({p.get('partial_mode')}) | {ft('advance_s')} ({ft('advance_first_s')}) | "
                f"{p['engine_bytes_per_event']:.1f} | "
                f"{p['ingest_peak_bytes_per_event']:.1f} |"
            )
        lines.append("")
    for size in SIZE_ORDER:
        if size in all_groups:
            lines += [f"## Details: {size}", "", *_detail_tables(size, all_groups[size])]
    return "\n".join(lines) + "\n"


def plot_scaling() -> None:
    scale = _load("scaling.json")
    if not scale:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [p for p in scale["points"] if "skipped" not in p]
    if not points:
        return
    events = [p["events"] for p in points]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 5))
    series = [
        ("cold_ingest_s", "cold ingest"),
        ("matrix_build_s", "matrix build"),
        ("score_s", "scores()"),
        ("reweight_full_s", "reweight (full)"),
        ("reweight_partial_s", "reweight (partial, 10 codes)"),
        ("matvec_s", "full-rescore kernel"),
        ("scipy_matvec_s", "scipy CSR @ points"),
        ("numpy_bincount_s", "numpy bincount"),
        ("floor_s", "bandwidth floor (numpy read)"),
        ("advance_s", "advance 1 day + ingest"),
        ("advance_first_s", "first advance after the bulk load"),
    ]
    for key, name in series:
        if all(key in p for p in points):
            ax.loglog(events, [p[key] for p in points], marker="o", label=name)
    ax.set_xlabel("events in the window")
    ax.set_ylabel("seconds")
    ax.set_title("iomscore: time by cohort size (20 events / nominal)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    ax2.semilogx(
        events,
        [p["engine_bytes_per_event"] for p in points],
        marker="o",
        label="engine.memory() bytes / event",
    )
    ax2.semilogx(
        events,
        [p["ingest_peak_bytes_per_event"] for p in points],
        marker="o",
        label="peak RSS growth during ingest / event",
    )
    ax2.set_xlabel("events in the window")
    ax2.set_ylabel("bytes per event")
    ax2.set_ylim(bottom=0)
    ax2.set_title("memory per event")
    ax2.grid(True, which="both", alpha=0.3)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)
    plt.close(fig)


README = BENCH / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def _summary_for_readme(text: str) -> str:
    """The machine, the ratio summary and the floor table of RESULTS.md."""
    keep, out = False, []
    for line in text.splitlines():
        if line.startswith("## "):
            keep = line[3:].startswith(("Machine", "Engine vs peers", "Full rescore"))
            if keep:
                out.append("#" + line)  # one level down inside the README
            continue
        if keep:
            out.append(line)
    return "\n".join(out).strip()


def write_report() -> None:
    plot_scaling()
    text = build_report()
    REPORT.write_text(text)
    if README.exists():
        readme = README.read_text()
        if START in readme and END in readme:
            head, rest = readme.split(START, 1)
            _, tail = rest.split(END, 1)
            block = f"{START}\n{_summary_for_readme(text)}\n{END}"
            README.write_text(head + block + tail)
    print(text)


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size", choices=SIZE_ORDER, help="run the suite, cold start and memory at a size"
    )
    parser.add_argument("--scaling", action="store_true", help="run the scaling series")
    parser.add_argument(
        "--all",
        action="store_true",
        help="the whole table: force, national and the scaling series (about 20 minutes)",
    )
    parser.add_argument("--max-events", type=int, default=None, help="cap the scaling series")
    parser.add_argument("--report", action="store_true", help="only rebuild RESULTS.md")
    parser.add_argument(
        "--no-suite", action="store_true", help="with --size: skip the pytest suite"
    )
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)

    if args.worker:
        sys.path.insert(0, str(BENCH))
        kind, *rest = args.worker
        numbers = [int(x) for x in rest]
        result = {"coldstart": worker_coldstart, "memory": worker_memory, "point": worker_point}[
            kind
        ](*numbers)
        print(json.dumps(result, default=str))
        return 0

    sys.path.insert(0, str(BENCH))
    if not (args.size or args.scaling or args.report or args.all):
        parser.error("choose --all, --size SIZE, --scaling or --report")
    sizes = ["force", "national"] if args.all else [args.size] if args.size else []
    for size in sizes:
        if not args.no_suite:
            run_suite(size, args.pytest_args)
        print("cold start ...", flush=True)
        _save("coldstart.json", cold_start())
        print(f"memory at {size} ...", flush=True)
        _save(f"memory-{size}.json", memory(size))
    if args.scaling or args.all:
        points = [p for p in SCALING if args.max_events is None or p[1] <= args.max_events]
        scaling(points)
    write_report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
