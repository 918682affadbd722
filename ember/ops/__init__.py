"""Differentiable ops, one module per family. Each op is a Function: forward and backward side by side."""
from ember.ops import activation, arithmetic, conv, pool, reduce, shape  # noqa: F401
