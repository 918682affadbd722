"""The two errors ember.data raises, so callers can tell bad files from missing ones.

Both subclass the built-in exception a Python programmer would expect (``ValueError`` for a
file that is there but wrong, ``FileNotFoundError`` for data that is nowhere to be found), so
``except ValueError`` keeps working, while ``except DataError`` catches only ours.
"""
from __future__ import annotations


class DataError(ValueError):
    """A data file exists but is not what it should be (corrupt, truncated, inconsistent)."""


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is in none of the places ember looked; the message lists them and how to get it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # FileNotFoundError would otherwise print an errno tuple
        return self.message
