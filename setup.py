"""Build the compiled core: one Cython extension over the C event store in csrc/.

Environment variables (read at build time):

* ``IOMSCORE_DEBUG=1`` builds with ``-O0 -g``, bounds checks and assertions.
* ``IOMSCORE_SANITIZE=address`` (or ``thread``) builds the C and Cython code with
  AddressSanitizer (or ThreadSanitizer), with ``-O1 -g``; see "Sanitizer runs"
  in bench/README.md for the commands that run the tests under each.
"""

import os
import sys
from pathlib import Path

# Before the build's own imports, so that the message is what an unsupported platform sees.
if os.name != "posix":
    sys.exit(
        "iomscore builds its compiled core with a C compiler on a POSIX system (Linux or "
        "macOS); this platform is not supported."
    )

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

DEBUG = os.environ.get("IOMSCORE_DEBUG") == "1"
SANITIZE = os.environ.get("IOMSCORE_SANITIZE", "")
if SANITIZE not in ("", "address", "thread"):
    sys.exit(f"IOMSCORE_SANITIZE must be 'address' or 'thread', not {SANITIZE!r}")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": DEBUG,
    "embedsignature": True,
}
if DEBUG:
    compile_args = ["-O0", "-g", "-UNDEBUG"]
elif SANITIZE:
    compile_args = ["-O1", "-g", "-UNDEBUG", "-fno-omit-frame-pointer"]
else:
    compile_args = ["-O3"]
link_args = []
if SANITIZE:
    compile_args.append(f"-fsanitize={SANITIZE}")
    link_args.append(f"-fsanitize={SANITIZE}")

csrc = Path("csrc")
extensions = [
    Extension(
        "iomscore._core",
        sources=["src/iomscore/_core.pyx", *sorted(str(p) for p in csrc.glob("*.c"))],
        depends=[*sorted(str(p) for p in csrc.glob("*.h")), "src/iomscore/_cstore.pxd"],
        include_dirs=["csrc", np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=["-std=c11", "-D_GNU_SOURCE", *compile_args],
        extra_link_args=link_args,
    )
]

setup(
    # weights/ is the project's own folder of weight tables; it ships as package data.
    packages=[*find_packages("src"), "iomscore._weights"],
    package_dir={"": "src", "iomscore._weights": "weights"},
    include_package_data=False,  # weights/sources/ stays in the repository and the sdist
    package_data={
        "iomscore": ["py.typed", "*.pyi", "*.pxd"],
        "iomscore._weights": ["*.csv", "*.toml", "*.md"],
    },
    # The C that Cython generates goes to build/, not beside the .pyx: it is an
    # intermediate of every build (Cython is a build requirement), never a source.
    ext_modules=cythonize(extensions, compiler_directives=directives, build_dir="build/cython"),
)
