"""``python -m benchmarks.loader``: DataLoader throughput on Fashion-MNIST, in images per second.

Iterates the 60,000-image training split in shuffled batches of 128 (each batch: fancy index of
the uint8 arrays, conversion to float32 in [0, 1], wrapping as ember Tensors), without
augmentation and with ``flip,crop`` (random horizontal flip, 2-pixel padded random crop), in
the calling thread and with background worker threads. Nothing is trained, so the numbers are
the loader's ceiling; a training step at a few thousand images/s is the real bottleneck.
``--step-ms 5`` stands in for a training step (a sleep, which releases the GIL like NumPy's
BLAS calls do) to show the prefetch threads hiding the batch preparation behind it.
"""
from __future__ import annotations

import argparse
import sys
import time

from ember.data import DataLoader, DatasetNotFoundError, FashionMNIST, parse_augment


def measure(dataset, batch_size: int, augment: str, workers: int, epochs: int, max_batches: int | None,
            step_ms: float = 0.0) -> dict:
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, seed=0, num_workers=workers,
                        transform=parse_augment(augment) if augment else None)
    images = batches = 0
    start = time.perf_counter()
    for _ in range(epochs):
        for x, _y in loader:
            images += x.shape[0]
            batches += 1
            if step_ms:
                time.sleep(step_ms / 1000)
            if max_batches is not None and batches >= max_batches:
                break
    seconds = time.perf_counter() - start
    return {"augment": augment or "none", "workers": workers, "images": images,
            "images_per_s": images / seconds, "ms_per_batch": 1000 * seconds / max(batches, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=None, help="directory of the Fashion-MNIST IDX files (default: search)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--augment", nargs="+", default=["", "flip,crop"],
                        help='augmentation specs to compare ("" for none)')
    parser.add_argument("--max-batches", type=int, default=None, help="stop each run after this many batches")
    parser.add_argument("--step-ms", type=float, default=0.0, help="simulated training step per batch (sleep)")
    args = parser.parse_args(argv)
    try:
        dataset = FashionMNIST(root=args.root, split="train", download=False)
    except DatasetNotFoundError as exc:
        print(f"benchmarks.loader: {exc}", file=sys.stderr)
        return 2
    step = f", simulated {args.step_ms:g} ms step per batch" if args.step_ms else ""
    print(f"DataLoader throughput: {dataset!r}, batch {args.batch_size}, shuffled{step}")
    print(f"{'augment':<12}{'workers':>8}{'images/s':>14}{'ms/batch':>10}")
    for augment in args.augment:
        for workers in args.workers:
            r = measure(dataset, args.batch_size, augment, workers, args.epochs, args.max_batches, args.step_ms)
            print(f"{r['augment']:<12}{r['workers']:>8}{r['images_per_s']:>14,.0f}{r['ms_per_batch']:>10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
