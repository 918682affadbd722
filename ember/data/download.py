"""Fetching a file from a list of mirrors, verified by SHA-256, with a progress bar.

A download goes to ``<dest>.part`` and is renamed onto ``dest`` only after its SHA-256
matches, so an interrupted or tampered download never leaves a file that looks complete.
``open_url`` is a module-level function so tests (and offline setups) can replace it; any
``file://`` URL works with the default one.
"""
from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterable

from ember.data.errors import DataError

CHUNK = 1 << 16
TIMEOUT_S = 30


def open_url(url: str):
    """Open ``url`` for reading; returns a file-like response with an optional ``length``/headers."""
    request = urllib.request.Request(url, headers={"User-Agent": "ember-data/0.1"})
    return urllib.request.urlopen(request, timeout=TIMEOUT_S)  # noqa: S310 - URLs come from ember's own table


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy(response, out, digest, total: int | None, label: str, progress: bool) -> None:
    """Stream ``response`` into ``out`` and ``digest``, drawing a rich progress bar on stderr when asked."""
    chunks = iter(lambda: response.read(CHUNK), b"")
    if not progress:
        for chunk in chunks:
            digest.update(chunk)
            out.write(chunk)
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=Console(file=sys.stderr), transient=True) as bar:
        task = bar.add_task(label, total=total)
        for chunk in chunks:
            digest.update(chunk)
            out.write(chunk)
            bar.advance(task, len(chunk))


def download_url(url: str, dest: str | os.PathLike, sha256: str | None, progress: bool = True) -> Path:
    """Download one URL to ``dest``, verifying the SHA-256 when given; returns ``dest``.

    Raises ``OSError`` (``urllib.error.URLError`` included) when the URL cannot be read and
    :class:`DataError` when the bytes do not match the checksum; in both cases ``dest`` is untouched.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    try:
        with open_url(url) as response, open(part, "wb") as out:
            headers = getattr(response, "headers", None)
            length = headers.get("Content-Length") if headers is not None else None
            _copy(response, out, digest, int(length) if length else None, f"downloading {dest.name}", progress)
        got = digest.hexdigest()
        if sha256 is not None and got != sha256.lower():
            raise DataError(
                f"checksum mismatch for {url}: expected SHA-256 {sha256}, got {got}; the download was discarded"
            )
        os.replace(part, dest)
    finally:
        if part.exists():
            part.unlink()
    return dest


def fetch(filename: str, mirrors: Iterable[str], dest_dir: str | os.PathLike, sha256: str | None,
          progress: bool = True) -> Path:
    """Download ``filename`` from the first mirror that serves it with the right checksum.

    Each mirror is a base URL ending in ``/``. When all fail the error lists every attempt.
    """
    dest = Path(dest_dir) / filename
    failures = []
    for base in mirrors:
        url = base + filename
        try:
            return download_url(url, dest, sha256, progress=progress)
        except (OSError, urllib.error.URLError, DataError, ValueError) as exc:
            failures.append(f"{url}: {exc}")
    raise DataError(f"could not download {filename}:\n  " + "\n  ".join(failures))
