"""Schedule configurations for the schedulers added after tests/optim/_problem.py's set (same format as
``_problem.SCHEDULES``: name -> (optimizer configuration, builder(sched_module, optimizer)))."""
from __future__ import annotations


class Halving:
    """A callable object as lr_lambda/scale_fn: its attributes are saved by state_dict."""

    def __init__(self, factor=0.9):
        self.factor = factor

    def __call__(self, x):
        return self.factor


SCHEDULES = {
    "multiplicative": ("sgd_momentum", lambda S, o: S.MultiplicativeLR(o, lambda e: 0.95 if e % 3 else 0.8)),
    "multiplicative_groups": ("sgd_groups", lambda S, o: S.MultiplicativeLR(o, [Halving(0.97), lambda e: 0.9])),
    "constant": ("adam", lambda S, o: S.ConstantLR(o, factor=0.25, total_iters=12)),
    "polynomial": ("sgd_momentum", lambda S, o: S.PolynomialLR(o, total_iters=30, power=2.0)),
    "polynomial_linear": ("adamw", lambda S, o: S.PolynomialLR(o, total_iters=40)),
    "warm_restarts": ("sgd_momentum", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=7, eta_min=1e-3)),
    "warm_restarts_mult": ("adam", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2)),
    "cyclic_triangular_sgd": ("sgd_momentum", lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1,
                                                                      step_size_up=5)),
    "cyclic_triangular2_groups": ("sgd_groups", lambda S, o: S.CyclicLR(
        o, base_lr=[0.01, 0.02], max_lr=[0.1, 0.05], step_size_up=4, step_size_down=6, mode="triangular2",
        base_momentum=[0.8, 0.7], max_momentum=[0.9, 0.95])),
    "cyclic_exp_range_adam": ("adam", lambda S, o: S.CyclicLR(o, base_lr=0.001, max_lr=0.01, step_size_up=3,
                                                              mode="exp_range", gamma=0.97)),
    "cyclic_scale_fn_no_momentum": ("adagrad", lambda S, o: S.CyclicLR(
        o, base_lr=0.01, max_lr=0.05, step_size_up=6, scale_fn=Halving(0.5), scale_mode="iterations",
        cycle_momentum=False)),
    "sequential_constant_restarts": ("sgd_momentum", lambda S, o: S.SequentialLR(
        o, [S.ConstantLR(o, factor=0.5, total_iters=5), S.CosineAnnealingWarmRestarts(o, T_0=8)], milestones=[5])),
}
