"""ember vs PyTorch CPU benchmarks (see benchmarks/README.md)."""
