"""ember tunes glibc's malloc only when the user has not: an explicit setting always wins."""
import subprocess
import sys

from ember.backend import memory


def test_user_settings_and_opt_out_are_respected():
    assert memory.should_tune({}, "linux") == (True, "")
    ok, why = memory.should_tune({"MALLOC_TRIM_THRESHOLD_": "0"}, "linux")
    assert not ok and "MALLOC_TRIM_THRESHOLD_" in why
    ok, why = memory.should_tune({"EMBER_MALLOC_TUNING": "0"}, "linux")
    assert not ok and "EMBER_MALLOC_TUNING=0" in why
    assert not memory.should_tune({}, "darwin")[0]


def _status(env):
    code = "import ember; from ember.backend import memory; print(memory.status)"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout


def test_status_after_import(monkeypatch):
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "EMBER_MALLOC_TUNING"}
    if sys.platform.startswith("linux"):
        assert _status(base).startswith("applied: M_MMAP_THRESHOLD")
    assert "EMBER_MALLOC_TUNING=0" in _status(dict(base, EMBER_MALLOC_TUNING="0"))
    assert "MALLOC_TOP_PAD_" in _status(dict(base, MALLOC_TOP_PAD_="0"))
