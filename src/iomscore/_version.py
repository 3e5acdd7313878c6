"""The package version, in one place: pyproject.toml reads it without importing iomscore."""

__version__ = "0.2.0"
