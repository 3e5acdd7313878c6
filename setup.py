"""Build the compiled core: one Cython extension over the C event store in csrc/.

Set IOMSCORE_DEBUG=1 to build with -O0 -g, bounds checks and assertions.
"""

import os

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

DEBUG = os.environ.get("IOMSCORE_DEBUG") == "1"

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": DEBUG,
    "embedsignature": True,
}
compile_args = ["-O0", "-g", "-UNDEBUG"] if DEBUG else ["-O3"]

extensions = [
    Extension(
        "iomscore._core",
        sources=["src/iomscore/_core.pyx", "csrc/iom_store.c", "csrc/iom_helper.c", "csrc/iom_matrix.c"],
        depends=["csrc/iom_store.h", "csrc/iom_helper.h", "csrc/iom_matrix.h", "src/iomscore/_cstore.pxd"],
        include_dirs=["csrc", np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=compile_args,
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
    ext_modules=cythonize(extensions, compiler_directives=directives),
)
