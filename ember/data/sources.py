"""Where datasets live: the search order, the per-user cache, the official mirrors and checksums.

Files are looked for, in order:

1. ``root``, when given (the files directly in it, or in ``root/<name>``);
2. the per-user cache ``$EMBER_DATA/<name>``, by default ``$XDG_CACHE_HOME/ember/<name>``
   (``~/.cache/ember/<name>``);
3. system directories, e.g. ``/usr/share/datasets/fashion-mnist`` where Debian's
   ``dataset-fashion-mnist`` package installs the official files;
4. when ``download=True``, the official mirrors, each file checked by SHA-256 and stored in
   ``root`` (if given) or the cache.

When all fail, :class:`~ember.data.errors.DatasetNotFoundError` lists every place and how to
get the data.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from ember.data import download as _download
from ember.data.errors import DataError, DatasetNotFoundError


@dataclasses.dataclass(frozen=True)
class Source:
    """How to find one dataset: its files per split, mirrors, checksums and install hint."""

    name: str
    files: dict  # split -> tuple of file names that split needs
    mirrors: tuple = ()  # base URLs ending in "/"
    sha256: dict = dataclasses.field(default_factory=dict)  # downloadable file -> SHA-256
    system_dirs: tuple = ()
    how_to_get: str = ""
    subdir: str | None = None  # where the files sit inside a directory, when nested (CIFAR's archive)
    archive: str | None = None  # a single downloadable archive holding the files
    compressed_ok: bool = True  # a file "x.gz" may also be present uncompressed as "x"

    @property
    def splits(self) -> tuple:
        return tuple(self.files)

    def all_files(self) -> tuple:
        return tuple(dict.fromkeys(f for fs in self.files.values() for f in fs))


_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

SOURCES: dict[str, Source] = {
    "fashion-mnist": Source(
        name="fashion-mnist",
        files=_MNIST_FILES,
        mirrors=(
            "https://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        sha256={
            "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        },
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        how_to_get=(
            "on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist "
            "(installs /usr/share/datasets/fashion-mnist); "
            "or put the four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
            "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz, gzipped or not) in a directory and pass "
            "root=<dir> or set EMBER_DATA=<parent dir> (files in <parent dir>/fashion-mnist); "
            "or allow download=True on a machine that is online"
        ),
    ),
    "mnist": Source(
        name="mnist",
        files=_MNIST_FILES,
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        sha256={
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
        how_to_get=(
            "put the four MNIST IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
            "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) in a directory and pass root=<dir> or set "
            "EMBER_DATA=<parent dir> (files in <parent dir>/mnist); or allow download=True on a machine that is online"
        ),
    ),
    "cifar10": Source(
        name="cifar10",
        files={
            "train": ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"),
            "test": ("test_batch",),
        },
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
        sha256={"cifar-10-python.tar.gz": "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"},
        subdir="cifar-10-batches-py",
        archive="cifar-10-python.tar.gz",
        compressed_ok=False,
        how_to_get=(
            "download cifar-10-python.tar.gz (the \"CIFAR-10 python version\") from "
            "https://www.cs.toronto.edu/~kriz/cifar.html, unpack it and pass root=<dir containing "
            "cifar-10-batches-py>, or set EMBER_DATA=<parent dir> (files in <parent dir>/cifar10); "
            "or allow download=True on a machine that is online"
        ),
    ),
}


def get_source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(sorted(SOURCES))}") from None


def cache_root() -> Path:
    """``$EMBER_DATA`` if set, else ``$XDG_CACHE_HOME/ember`` (``~/.cache/ember``)."""
    env = os.environ.get("EMBER_DATA")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "ember"


def cache_dir(name: str) -> Path:
    return cache_root() / name


def search_paths(name: str, root: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """The candidate directories for ``name``, in search order, each with a label saying why."""
    source = get_source(name)
    places = []
    if root is not None:
        root = Path(root).expanduser()
        places += [("root", root), ("root", root / name)]
    places.append(("cache", cache_dir(name)))
    places += [("system", Path(d)) for d in source.system_dirs]
    return places


def _file_in(directory: Path, filename: str, source: Source) -> Path | None:
    """``directory/filename``, or its uncompressed twin when ``filename`` ends in .gz."""
    for base in (directory / source.subdir, directory) if source.subdir else (directory,):
        candidate = base / filename
        if candidate.is_file():
            return candidate
        if source.compressed_ok and filename.endswith(".gz") and candidate.with_suffix("").is_file():
            return candidate.with_suffix("")
    return None


def files_in(directory: Path, source: Source, split: str | None = None) -> dict[str, Path] | None:
    """The paths of ``split``'s files (all splits when None) in ``directory``, or None if any is missing."""
    wanted = source.files[split] if split is not None else source.all_files()
    found = {}
    for filename in wanted:
        path = _file_in(directory, filename, source)
        if path is None:
            return None
        found[filename] = path
    return found


def check_split(source: Source, split: str) -> str:
    if split not in source.files:
        raise ValueError(f"unknown split {split!r} for {source.name}; valid: {', '.join(source.splits)}")
    return split


def locate(name: str, split: str | None = None, root=None, download: bool = False,
           progress: bool = True) -> dict[str, Path]:
    """Find (or fetch) the files of one split: a mapping canonical file name -> path.

    Raises :class:`DatasetNotFoundError` listing every place tried when nothing works.
    """
    source = get_source(name)
    if split is not None:
        check_split(source, split)
    places = search_paths(name, root)
    for _label, directory in places:
        found = files_in(directory, source, split)
        if found is not None:
            return found
    failures = []
    if download and source.mirrors:
        target = Path(root).expanduser() if root is not None else cache_dir(name)
        try:
            fetch_all(source, target, split, progress=progress)
            found = files_in(target, source, split)
            if found is not None:
                return found
            failures.append(f"downloaded into {target} but the expected files are still missing")
        except (DataError, OSError) as exc:
            failures.append(str(exc))
    lines = [f"{name} ({split or 'all splits'}) not found. Looked in:"]
    lines += [f"  - {directory} ({label})" for label, directory in places]
    if download and source.mirrors:
        lines.append("  - the official mirrors: " + ", ".join(source.mirrors))
        lines += ["    " + line for failure in failures for line in failure.splitlines()]
    elif source.mirrors:
        lines.append("  (download=False, so the official mirrors were not tried)")
    lines.append(f"How to get it: {source.how_to_get}")
    raise DatasetNotFoundError("\n".join(lines))


def fetch_all(source: Source, target: Path, split: str | None = None, progress: bool = True) -> None:
    """Download what ``split`` needs from the mirrors into ``target`` (files or the one archive)."""
    if source.archive is not None:
        from ember.data.cifar import extract_archive  # only archives need unpacking

        archive = _download.fetch(source.archive, source.mirrors, target, source.sha256.get(source.archive),
                                  progress=progress)
        extract_archive(archive, target / (source.subdir or ""), source.all_files() + ("batches.meta",))
        archive.unlink()
        return
    wanted = source.files[split] if split is not None else source.all_files()
    for filename in wanted:
        if _file_in(target, filename, source) is None:
            _download.fetch(filename, source.mirrors, target, source.sha256.get(filename), progress=progress)


def available_datasets() -> dict[str, Path | None]:
    """Each known dataset -> the directory it would be loaded from (all splits present), or None.

    Only local places are checked (no download); ``ember datasets`` prints this.
    """
    result = {}
    for name, source in SOURCES.items():
        result[name] = None
        for _label, directory in search_paths(name):
            found = files_in(directory, source)
            if found is not None:
                result[name] = next(iter(found.values())).parent
                break
    return result
