"""scripts/ensure_data.sh: finds the data where ember looks, installs it with apt-get, or explains."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import make_mnist_dir

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ensure_data.sh"
pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def run(tmp_path, *args, path=None, **env):
    full = {"HOME": str(tmp_path / "home"), "PATH": path or os.environ["PATH"],
            "EMBER_FASHION_SYSTEM_DIR": str(tmp_path / "system"), **env}
    return subprocess.run(["bash", str(SCRIPT), *args], env=full, capture_output=True, text=True, timeout=30)


def test_found_in_cache_or_argument(tmp_path):
    make_mnist_dir(tmp_path / "cache" / "fashion-mnist", n_train=2, n_test=2, gz=False)
    out = run(tmp_path, EMBER_DATA=str(tmp_path / "cache"), EMBER_NO_INSTALL="1")
    assert out.returncode == 0 and "found in " + str(tmp_path / "cache" / "fashion-mnist") in out.stdout
    make_mnist_dir(tmp_path / "mine", n_train=2, n_test=2)
    out = run(tmp_path, str(tmp_path / "mine"), EMBER_NO_INSTALL="1")
    assert out.returncode == 0 and str(tmp_path / "mine") in out.stdout
    make_mnist_dir(tmp_path / "home" / ".cache" / "ember" / "fashion-mnist", n_train=2, n_test=2)
    assert run(tmp_path, EMBER_NO_INSTALL="1").returncode == 0  # the default cache under $HOME


def test_missing_explains_and_fails(tmp_path):
    make_mnist_dir(tmp_path / "partial", n_train=2, n_test=2)
    (tmp_path / "partial" / "t10k-labels-idx1-ubyte.gz").unlink()
    out = run(tmp_path, str(tmp_path / "partial"), EMBER_NO_INSTALL="1")
    assert out.returncode == 1
    for text in ("not found", str(tmp_path / "partial"), str(tmp_path / "system"),
                 "apt-get install dataset-fashion-mnist", "IDX files"):
        assert text in out.stderr


def test_installs_with_apt_get_through_sudo_when_needed(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "apt.log"
    # a stand-in apt-get that "installs" the package into the system dir, and a sudo that just runs it
    (fake / "apt-get").write_text(
        f'#!/bin/sh\necho "$@" >> {log}\n'
        f'if [ "$1" = install ]; then mkdir -p {tmp_path}/system && '
        f'for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; '
        f'do : > {tmp_path}/system/$f.gz; done; fi\n')
    (fake / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    for f in fake.iterdir():
        f.chmod(0o755)
    out = run(tmp_path, path=f"{fake}:/usr/bin:/bin")
    assert out.returncode == 0, out.stderr
    assert log.read_text().split("\n")[:2] == ["update", "install -y dataset-fashion-mnist"]
    assert "found in " + str(tmp_path / "system") in out.stdout
