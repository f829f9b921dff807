"""The DuckDB store: one file per workspace, append-only, short connections."""

from planwise.storage.database import Database

__all__ = ["Database"]
