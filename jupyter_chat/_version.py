"""The package's version, in one place below every part (the face re-exports it)."""

__version__ = "0.1.0"
