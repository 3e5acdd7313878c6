#!/usr/bin/env bash
# Run the store's stateful and two-thread tests under AddressSanitizer or ThreadSanitizer.
#
#   bash bench/sanitize.sh address|thread [pytest args]
#
# Copies the repository's committed tree (HEAD, or the commit in $SANITIZE_REF) to a
# temporary directory, builds the extension there in place with
# IOMSCORE_SANITIZE=<kind> (setup.py: -fsanitize=<kind> -O1 -g), and runs pytest there
# with the sanitizer's runtime preloaded into the interpreter. Uncommitted changes are not
# tested. The repository itself is never built in or written to; the copy is removed on
# exit. Assumes the test extras and Cython are installed (`pip install ".[test]"`) and gcc
# (or $CC) is the compiler setup.py uses.
#
# Default tests: the engine's state machine (tests/test_engine_state.py), the helper
# thread's tests (tests/test_helper.py, tests/test_idle.py), and the store-unit tests that
# run each step on one thread and on two (tests/test_store_units.py, tests/test_id_pages.py,
# tests/test_day_arrays.py). Arguments are passed to pytest after them; arguments naming
# paths under tests/ or bench/ replace the default files, e.g.
#   bash bench/sanitize.sh thread tests/test_helper.py -x
#   bash bench/sanitize.sh address -k two_threads
# HYPOTHESIS_PROFILE defaults to ci (tests/conftest.py); set it to dev for a quicker run.
#
# Exit status: 0 only if pytest passes and the sanitizer wrote no report (reports go to
# log files, so that one from the helper thread, a forked child, or a test whose output
# pytest captured is still seen; they are printed at the end). With the ci profile on two
# cores, about 13 minutes for address (slowed by the options below) and 8 for thread.
set -euo pipefail

usage() {
    sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

kind=${1:-}
case "$kind" in
    address) runtime=libasan.so ;;
    thread) runtime=libtsan.so ;;
    *) usage ;;
esac
shift

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(git -C "$here" rev-parse --show-toplevel)
ref=${SANITIZE_REF:-HEAD}
commit=$(git -C "$repo" rev-parse --verify "$ref^{commit}")

# The interpreter itself, not a wrapper: a pyenv shim is a bash script, and bash crashes
# with the TSan runtime preloaded (LD_PRELOAD reaches every process the command starts).
py=$("${PYTHON:-python3}" -c 'import sys; print(sys.executable)')

cc=${CC:-gcc}
lib=$("$cc" -print-file-name="$runtime")
if [[ "$lib" != /* || ! -e "$lib" ]]; then
    echo "sanitize.sh: $cc has no $runtime (install its sanitizer runtime)" >&2
    exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/iomscore-sanitize.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
logs="$tmp/sanitizer-logs"
mkdir -p "$logs"

git -C "$repo" archive "$commit" | tar -x -C "$tmp/"
cd "$tmp"

echo "== $kind build of ${commit:0:12} in $tmp"
start=$SECONDS
if ! IOMSCORE_SANITIZE=$kind "$py" setup.py build_ext --inplace >"$tmp/build.log" 2>&1; then
    tail -n 40 "$tmp/build.log" >&2
    echo "sanitize.sh: the $kind build failed" >&2
    exit 1
fi
echo "   built in $((SECONDS - start)) s"

# The default selection, unless the arguments name test paths of their own.
tests=(
    tests/test_engine_state.py
    tests/test_helper.py
    tests/test_idle.py
    tests/test_store_units.py
    tests/test_id_pages.py
    tests/test_day_arrays.py
)
for arg in "$@"; do
    case "$arg" in tests/* | bench/*) tests=() ;; esac
done

# C++ libraries loaded after the runtime (pyarrow's) throw exceptions through it: ASan's
# interceptor of __cxa_throw finds no real one unless libstdc++ is loaded from the start
# ("CHECK failed: asan_interceptors.cpp ... real___cxa_throw"), so it is preloaded too.
if [[ "$kind" == address ]]; then
    cxx=$("$cc" -print-file-name=libstdc++.so.6)
    if [[ "$cxx" == /* && -e "$cxx" ]]; then lib="$lib:$cxx"; fi
fi

env=(
    "PYTHONPATH=$tmp/src"
    "HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-ci}"
    "NUMBA_CACHE_DIR=$tmp/numba-cache"
    "LD_PRELOAD=$lib${LD_PRELOAD:+:$LD_PRELOAD}"
)
# Numba's JIT works under both runtimes (NUMBA_DISABLE_JIT is not needed): its kernels are
# compiled by LLVM without instrumentation, so the sanitizers check the C store and the
# Cython module only, which is what this run is for.
if [[ $kind == address ]]; then
    # detect_leaks=0: CPython, numpy and Numba keep memory until exit by design (interned
    # objects, caches, modules never unloaded); LeakSanitizer would report it all.
    # detect_stack_use_after_return=1: a split step's job lives on the calling thread's
    # stack while the helper thread reads it.
    # PYTHONMALLOC=malloc: Python objects come from malloc, not pymalloc's arenas, so ASan
    # also sees the Cython module's misuse of them.
    env+=(
        "ASAN_OPTIONS=detect_leaks=0:detect_stack_use_after_return=1:log_path=$logs/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
        "PYTHONMALLOC=malloc"
    )
else
    # die_after_fork=0: by default TSan kills a child forked from a process with threads
    # once the child starts a thread; tests/test_helper.py's fork test checks exactly that
    # the child starts a helper of its own. (A child is not fully supported by TSan: its
    # reports are still reports, and fail the run.)
    # halt_on_error=0, exitcode=66: every distinct race is reported, and the run fails.
    # second_deadlock_stack=1: both stacks for a lock-order inversion.
    env+=(
        "TSAN_OPTIONS=die_after_fork=0:halt_on_error=0:exitcode=66:second_deadlock_stack=1:log_path=$logs/tsan${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
    )
fi

# The run must test the extension just built, not an installed copy.
where=$(env "${env[@]}" "$py" -c 'import iomscore._core as c; print(c.__file__)')
if [[ "$where" != "$tmp/"* ]]; then
    echo "sanitize.sh: iomscore._core loads from $where, not from $tmp" >&2
    exit 1
fi

echo "== pytest under $kind:${tests[*]:+ ${tests[*]}}${*:+ $*}"
start=$SECONDS
status=0
env "${env[@]}" "$py" -m pytest -p no:cacheprovider "${tests[@]}" "$@" || status=$?
printf '\n== pytest exit status %s after %s s\n' "$status" "$((SECONDS - start))"

reports=("$logs"/*)
if [[ -e "${reports[0]}" ]]; then
    for report in "${reports[@]}"; do
        echo "== sanitizer report $(basename "$report")" >&2
        cat "$report" >&2
    done
    echo "sanitize.sh: $kind sanitizer reports: ${#reports[@]} file(s)" >&2
    exit 1
fi
if [[ $status -ne 0 ]]; then
    echo "sanitize.sh: pytest failed under $kind (status $status)" >&2
    exit "$status"
fi
echo "== $kind: passed, no sanitizer reports"
