"""`ember info`: BLAS core type/threads and the OPENBLAS_CORETYPE note."""
from ember.train import sysinfo

AVX512 = {"cpu": {"flags": {"avx", "avx2", "fma", "avx512f", "sse4_2"}}}


def test_note_when_coretype_pins_older_kernels(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    note = sysinfo.coretype_note({}, AVX512["cpu"])
    assert "OPENBLAS_CORETYPE=Haswell pins AVX2/FMA (Haswell) kernels" in note and "AVX-512 (SkylakeX)" in note
    assert "never overrides" in note
    monkeypatch.setenv("OPENBLAS_CORETYPE", "SkylakeX")
    assert sysinfo.coretype_note({}, AVX512["cpu"]) is None
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Prescott")
    assert "SSE3 (Prescott)" in sysinfo.coretype_note({}, {"flags": {"avx", "avx2", "fma"}})
    monkeypatch.delenv("OPENBLAS_CORETYPE")
    assert sysinfo.coretype_note({}, AVX512["cpu"]) is None


def test_report_names_the_blas_its_threads_and_versions():
    text = sysinfo.report()
    assert "numpy BLAS:" in text and "ember " in text and "python " in text
    info = sysinfo.blas_info()
    assert info["name"]  # openblas here; whatever NumPy was built with elsewhere
    if info.get("source") != "numpy.show_config":
        assert isinstance(info.get("threads"), int) and info["threads"] >= 1
        assert "threads:" in text and "core type" in text
