"""benchmarks.loader runs end to end (on a tiny IDX directory) and reports images/s."""
from __future__ import annotations

from .conftest import make_mnist_dir


def test_loader_benchmark_prints_throughput(tmp_path, capsys):
    from benchmarks import loader

    make_mnist_dir(tmp_path / "fm", n_train=300, n_test=10)
    assert loader.main(["--root", str(tmp_path / "fm"), "--workers", "0", "1", "--max-batches", "2"]) == 0
    out = capsys.readouterr().out
    assert "images/s" in out and "flip,crop" in out and len(out.strip().splitlines()) == 6


def test_loader_benchmark_without_data(tmp_path, capsys):
    from benchmarks import loader

    assert loader.main(["--root", str(tmp_path / "none")]) == 2
    assert "not found" in capsys.readouterr().err
