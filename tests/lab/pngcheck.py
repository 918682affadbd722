"""Is a file a real plot? A PNG signature, a non-trivial size and some drawing on it."""
from __future__ import annotations

from pathlib import Path

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path, min_bytes: int = 10_000, min_side: int = 300) -> None:
    path = Path(path)
    assert path.is_file(), f"{path} was not written"
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG (signature {data[:8]!r})"
    assert len(data) >= min_bytes, f"{path} is only {len(data)} bytes: not much of a plot"
    from PIL import Image

    with Image.open(path) as img:
        img.verify()
    with Image.open(path) as img:
        width, height = img.size
        pixels = np.asarray(img.convert("L"), dtype=np.float64)
    assert min(width, height) >= min_side, f"{path} is {width}x{height} pixels"
    ink = np.mean(pixels < 200)  # not background
    assert ink > 0.01, f"{path} is almost blank ({ink:.1%} of pixels drawn)"
