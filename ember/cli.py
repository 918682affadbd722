"""The ``ember`` command: train, resume, fine-tune, evaluate, predict, ensemble; list models and datasets.

Every subcommand has ``--help`` with examples. Errors the user can fix (an unknown model, dataset or
optimizer, a config file that cannot be read, a run directory that does not exist, an image of the wrong
size) print one clear message and exit with status 2; a run stopped by the NaN/Inf guard exits with 3.
"""
from __future__ import annotations

import argparse
import difflib
import json
import sys
import textwrap
from pathlib import Path

EXIT_USAGE = 2
EXIT_DIVERGED = 3

# option -> (metavar, help). The order is the order of `ember train --help`.
TRAIN_OPTIONS: dict[str, tuple[str | None, str]] = {
    "model": ("NAME", "model from the zoo (default lenet5; `ember models` lists them)"),
    "model_args": ("ARGS", "extra model arguments: 'dropout=0.2,hidden=[512,256]' or a JSON/YAML mapping"),
    "data": ("NAME", "dataset: fashion-mnist, mnist or cifar10 (default fashion-mnist; see `ember datasets`)"),
    "data_root": ("DIR", "directory holding the dataset files (default: EMBER_DATA, the cache, system dirs)"),
    "download": (None, "never fetch a missing dataset from its official mirrors (default: try them)"),
    "epochs": ("N", "epochs to train (default 5)"),
    "batch_size": ("N", "mini-batch size (default 128)"),
    "optimizer": ("NAME", "sgd, adam, adamw, rmsprop or adagrad (default adam)"),
    "lr": ("LR", "learning rate (default 1e-3); the peak rate for --scheduler onecycle"),
    "momentum": ("MU", "momentum for sgd and rmsprop (default 0.9)"),
    "weight_decay": ("WD", "L2 weight decay (decoupled for adamw; default 0)"),
    "scheduler": ("NAME", "none, step, cosine, onecycle, plateau or exponential (default none)"),
    "scheduler_args": ("ARGS", "scheduler arguments, e.g. 'step_size=2,gamma=0.5' or 'pct_start=0.25'"),
    "warmup_epochs": ("E", "linear learning-rate warm-up over E epochs (with --scheduler none or cosine)"),
    "init": ("NAME", "re-initialise conv/linear weights: default (the model's own), kaiming, xavier, normal "
                     "(std 0.01) or orthogonal"),
    "augment": ("SPEC", "training augmentation, e.g. 'flip,crop' or 'flip,crop:padding=4,cutout' "
                        "(flip, crop, resized_crop, jitter, lighting, rotate, stretch, cutout, mixup)"),
    "preprocess": ("NAME", "input normalisation fitted on the training split: standardize (per-channel z-score, "
                           "default), center, minmax or none"),
    "val_split": ("F", "fraction of the training set held out for validation (default 0.1; 0 for none)"),
    "seed": ("N", "seed for initialisation, data order and augmentation (default 0)"),
    "grad_clip": ("NORM", "clip the global gradient norm to NORM"),
    "label_smoothing": ("EPS", "label smoothing for the cross-entropy loss (default 0)"),
    "mixup": ("ALPHA", "mixup with Beta(ALPHA, ALPHA) mixing weights (default 0: off)"),
    "early_stopping": ("PATIENCE", "stop when --monitor has not improved for PATIENCE epochs and restore the best "
                                   "weights (default 0: off)"),
    "monitor": ("METRIC", "epoch metric for early stopping, the best checkpoint and plateau scheduling "
                          "(default val_loss; e.g. val_accuracy)"),
    "checkpoint_every": ("EVERY", "checkpoint every N epochs (N), or every N steps (Nsteps); default 1"),
    "keep_last": ("N", "periodic checkpoints to keep (default 3)"),
    "max_steps": ("N", "stop after N optimisation steps in total (quick runs)"),
    "limit_train": ("N", "train on the first N training images only (quick runs)"),
    "limit_test": ("N", "test on the first N test images only"),
    "num_workers": ("N", "background threads preparing batches (default 0)"),
    "runs_dir": ("DIR", "where run directories go (default ./runs)"),
    "name": ("NAME", "run name: the directory runs/NAME (default <model>-<data>-<time>; an existing name gets "
                     "a suffix)"),
    "quiet": (None, "no progress output (errors still go to stderr)"),
}

TRAIN_EXAMPLES = """\
examples:
  ember train --model lenet5 --data fashion-mnist --epochs 5 --batch-size 128 --optimizer adam --lr 1e-3
  ember train --model resnet20 --data cifar10 --augment flip,crop --scheduler onecycle --lr 0.05 \\
              --optimizer sgd --weight-decay 5e-4 --epochs 30 --name r20
  ember train --config run.yaml --epochs 3           # options from a YAML/TOML file, overridden here
  ember train --limit-train 2000 --epochs 1 --quiet  # a quick smoke test
  ember train --resume runs/r20                       # continue an interrupted run exactly

a config file holds the same options (use - or _), e.g. run.yaml:
  model: lenet5
  epochs: 5
  augment: flip,crop
  model_args: {dropout: 0.1}
"""


class _Parser(argparse.ArgumentParser):
    """argparse with errors that list the valid options (and suggest the closest one)."""

    def error(self, message: str):
        if message.startswith("unrecognized arguments:"):
            bad = message.split(":", 1)[1].split()
            opts = sorted({o for a in self._actions for o in a.option_strings if o.startswith("--")})
            hints = []
            for b in bad:
                close = difflib.get_close_matches(b.split("=")[0], opts, n=1)
                hints.append(f"{b}" + (f" (did you mean {close[0]}?)" if close else ""))
            message = f"unknown option(s): {', '.join(hints)}\nvalid options: {', '.join(opts)}"
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


class UsageError(Exception):
    """Something the user must fix; printed without a traceback, exit status 2."""


def _wrap(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), 100)


def _fmt():
    return lambda prog: argparse.RawDescriptionHelpFormatter(prog, max_help_position=32, width=110)


# --------------------------------------------------------------------------- option parsing helpers


def parse_mapping(text: str, what: str) -> dict:
    """'a=1,b=[2,3]' or '{a: 1}' (YAML/JSON) -> dict."""
    import yaml

    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise UsageError(f"{what}: cannot parse {text!r}: {e}") from e
        if not isinstance(value, dict):
            raise UsageError(f"{what} must be a mapping, got {text!r}")
        return value
    out = {}
    depth, cur, parts = 0, "", []
    for ch in text:  # split on commas outside brackets
        if ch in "[({":
            depth += 1
        elif ch in "])}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{what}: expected key=value pairs separated by commas, got {part!r}")
        try:
            out[key.strip()] = yaml.safe_load(value.strip())
        except yaml.YAMLError as e:
            raise UsageError(f"{what}: cannot parse the value of {key.strip()!r}: {e}") from e
    return out


def _add_train_options(p: argparse.ArgumentParser, skip=()) -> None:
    g = p.add_argument_group("training options (also settable in a --config file)")
    for key, (metavar, help_) in TRAIN_OPTIONS.items():
        if key in skip:
            continue
        flag = "--" + key.replace("_", "-")
        if key == "download":
            g.add_argument("--no-download", dest=key, action="store_false", default=argparse.SUPPRESS, help=help_)
        elif metavar is None:
            g.add_argument(flag, dest=key, action="store_true", default=argparse.SUPPRESS, help=help_)
        else:
            g.add_argument(flag, dest=key, metavar=metavar, default=argparse.SUPPRESS, help=help_)


def _config_from_args(args, skip=()) -> "TrainConfig":  # noqa: F821
    from ember.train.config import TrainConfig, read_config_file

    cfg = TrainConfig()
    if getattr(args, "config", None):
        cfg.update(read_config_file(args.config), source=f"config file {args.config}")
    given = {k: getattr(args, k) for k in TRAIN_OPTIONS if k not in skip and hasattr(args, k)}
    for key in ("model_args", "scheduler_args"):
        if key in given:
            given[key] = parse_mapping(given[key], "--" + key.replace("_", "-"))
    cfg.update(given, source="command line")
    return cfg


# --------------------------------------------------------------------------- commands


def cmd_train(args) -> int:
    from ember.train.runner import resume_run, start_run

    if args.resume:
        given = [k for k in TRAIN_OPTIONS if hasattr(args, k) and k != "quiet"]
        if given or args.config:
            opts = ", ".join("--" + k.replace("_", "-") for k in given) or "--config"
            raise UsageError(f"--resume continues a run with its own saved configuration; drop {opts} "
                             "(only --quiet may be given)")
        resume_run(args.resume, quiet=getattr(args, "quiet", False))
        return 0
    cfg = _config_from_args(args)
    start_run(cfg, command=["ember"] + sys.argv[1:])
    return 0


def cmd_finetune(args) -> int:
    from ember.train.restore import run_config
    from ember.train.rundir import RunDir
    from ember.train.runner import start_run

    src = RunDir.open(args.source)
    src_cfg, _ = run_config(src)
    cfg = _config_from_args(args, skip=("model", "model_args"))
    cfg.model, cfg.model_args = src_cfg.model, dict(src_cfg.model_args)
    cfg.validate()
    if cfg.name is None:
        cfg.name = f"{src.name}-ft-{cfg.data}"
    freeze_part = args.freeze
    finetune = {"from": str(src.path), "freeze": freeze_part, "unfreeze_at": args.unfreeze_at,
                "head_lr": args.head_lr, "backbone_lr": args.backbone_lr, "new_head": not args.keep_head}
    if args.unfreeze_at is not None and freeze_part != "backbone":
        raise UsageError("--unfreeze-at needs --freeze backbone")
    start_run(cfg, command=["ember"] + sys.argv[1:], finetune=finetune)
    return 0


def _test_data(run, data_root=None, limit=None):
    """(raw images in [0,1], labels) of the run's dataset test split."""
    from ember.data import to_float
    from ember.train.recipe import load_split

    cfg = run.config
    ds = load_split(cfg.data, "test", data_root or cfg.data_root, download=False)
    x, y = ds.arrays()[:2]
    if limit:
        x, y = x[:limit], y[:limit]
    return to_float(x), y.astype("int64")


def cmd_eval(args) -> int:
    import numpy as np

    from ember.train.metrics import classification_report
    from ember.train.restore import load_run, resolve_weights
    from ember.train.runner import evaluate_probs
    from ember.train.trainer import predict_proba

    run = load_run(args.run, weights=args.weights)
    weights = resolve_weights(run.rundir, args.weights)
    images, labels = _test_data(run, args.data_root, args.limit)
    print(f"{run.rundir.path}: {run.config.model} on {run.config.data}, weights {weights}")
    probs = predict_proba(run.model, images, preprocess=run.preprocessor)
    res = evaluate_probs(probs, labels, run.classes)
    top5 = f"  top-5 {100 * res['top5_accuracy']:.2f}%" if "top5_accuracy" in res else ""
    print(f"test accuracy {100 * res['accuracy']:.2f}%{top5}  loss {res['loss']:.4f}  ({len(labels):,} images)")
    out = {"accuracy": res["accuracy"], "loss": res["loss"], "top5_accuracy": res.get("top5_accuracy")}
    if args.tta:
        tprobs = predict_proba(run.model, images, tta=args.tta, preprocess=run.preprocessor)
        tres = evaluate_probs(tprobs, labels, run.classes)
        print(f"with test-time augmentation ({args.tta}): accuracy {100 * tres['accuracy']:.2f}% "
              f"({100 * (tres['accuracy'] - res['accuracy']):+.2f} points)  loss {tres['loss']:.4f}")
        out["tta"] = {"mode": args.tta, "accuracy": tres["accuracy"], "loss": tres["loss"]}
        res = tres
    print(f"\nper-class scores{f' (with test-time augmentation, {args.tta})' if args.tta else ''}:")
    print(classification_report(np.asarray(res["confusion_matrix"]), run.classes))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


def load_image(path: str, channels: int, size: int, resize: bool, invert: bool):
    """One image file as float32 (C, H, W) in [0, 1], checked against the model's input size."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.exists():
        raise UsageError(f"image {path} does not exist")
    try:
        img = Image.open(p)
        img.load()
    except (UnidentifiedImageError, OSError) as e:
        raise UsageError(f"cannot read {path} as an image: {e}") from e
    img = img.convert("L" if channels == 1 else "RGB")
    if img.size != (size, size):
        if not resize:
            raise UsageError(f"{path} is {img.size[0]}x{img.size[1]} pixels, but this model takes {size}x{size} "
                             f"images; pass --resize to resize it (with a warning), or give a {size}x{size} image")
        print(f"warning: resizing {path} from {img.size[0]}x{img.size[1]} to {size}x{size}; predictions on "
              "resized images may be less reliable", file=sys.stderr)
        img = img.resize((size, size), Image.Resampling.BILINEAR)
    a = np.asarray(img, dtype=np.float32) / 255.0
    a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    return 1.0 - a if invert else a


def cmd_predict(args) -> int:
    import numpy as np

    from ember.train.restore import load_run
    from ember.train.trainer import predict_proba

    run = load_run(args.run, weights=args.weights)
    c, s = run.in_channels, run.input_size
    images = np.stack([load_image(p, c, s, args.resize, args.invert) for p in args.images])
    probs = predict_proba(run.model, images, tta=args.tta or False, preprocess=run.preprocessor)
    k = min(args.top, probs.shape[1])
    results = []
    for path, pr in zip(args.images, probs):
        order = np.argsort(-pr, kind="stable")[:k]
        top = [{"class": run.classes[i], "index": int(i), "probability": float(pr[i])} for i in order]
        results.append({"image": path, "top": top})
        if not args.json:
            print(f"{path}:")
            width = max(len(t["class"]) for t in top)
            for rank, t in enumerate(top, 1):
                bar = "#" * int(round(30 * t["probability"]))
                print(f"  {rank}. {t['class']:<{width}}  {100 * t['probability']:6.2f}%  {bar}")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


def cmd_ensemble(args) -> int:
    from ember.train.ensemble import Ensemble, format_report
    from ember.train.restore import load_run

    if args.snapshots:
        if len(args.runs) != 1:
            raise UsageError("--snapshots builds an ensemble from one run's checkpoints; give exactly one run")
        ens = Ensemble.snapshots(args.runs[0], which="all", include_final=True)
    else:
        if len(args.runs) < 2:
            raise UsageError("an ensemble needs at least two runs (or one run with --snapshots)")
        ens = Ensemble(args.runs)
    first = load_run(args.runs[0], weights=None)
    for r in args.runs[1:]:
        other = load_run(r, weights=None)
        if (other.config.data, other.classes) != (first.config.data, first.classes):
            raise UsageError(f"{r} was trained on {other.config.data}, {args.runs[0]} on {first.config.data}; "
                             "ensemble members must share the dataset")
    images, labels = _test_data(first, args.data_root, args.limit)
    report = ens.evaluate(images, labels, tta=args.tta or False)
    print(format_report(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


def cmd_models(args) -> int:
    from ember import models

    names = models.list_models()
    rows = []
    for name in names:
        try:
            m = models.get(name, num_classes=args.num_classes, in_channels=args.in_channels,
                           input_size=args.input_size)
            n = f"{sum(int(p.array.size) for p in m.parameters()):,}"
        except Exception as e:  # a family that cannot take this input size
            n = f"- ({str(e).splitlines()[0][:60]})"
        rows.append((name, n, models.describe(name)))
    print(f"{len(rows)} models; parameter counts for {args.in_channels}x{args.input_size}x{args.input_size} inputs "
          f"and {args.num_classes} classes (change with --input-size, --in-channels, --num-classes)\n")
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"{'model':<{w0}}  {'parameters':>{w1}}  description")
    for name, n, desc in rows:
        print(f"{name:<{w0}}  {n:>{w1}}  {desc}")
    return 0


def cmd_datasets(args) -> int:
    from ember.data import available_datasets
    from ember.data.sources import SOURCES

    found = available_datasets()
    print("datasets ember can load (`ember train --data NAME`):\n")
    for name, where in found.items():
        if where is not None:
            print(f"  {name:<14} available  {where}")
        else:
            print(f"  {name:<14} not found")
            hint = SOURCES[name].how_to_get if name in SOURCES else ""
            if hint:
                for line in textwrap.wrap(f"how to get it: {hint}", 90):
                    print(f"  {'':<14}   {line}")
    return 0


def cmd_lab(args) -> int:
    import ember.lab as lab

    if args.action == "list":
        for name, claim in lab.list_experiments().items():
            print(f"{name:<26} {claim}")
        return 0
    if not args.name:
        raise UsageError(f"`ember lab run` needs an experiment name; valid: {', '.join(lab.EXPERIMENTS)}")
    if args.name not in lab.EXPERIMENTS:
        close = difflib.get_close_matches(args.name, lab.EXPERIMENTS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"unknown experiment {args.name!r}{hint}; valid: {', '.join(lab.EXPERIMENTS)}")
    out = Path(args.out or Path("runs") / "lab" / args.name)
    result = lab.run(args.name, out, quick=args.quick)
    print(f"plots in {out}/" + (f" ({', '.join(Path(p).name for p in result.get('plots', []))})"
                                if result.get("plots") else ""))
    return 0


def cmd_info(args) -> int:
    from ember.train.sysinfo import report

    print(report())
    return 0


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    import ember

    p = _Parser(prog="ember", formatter_class=_fmt(), allow_abbrev=False,
                description=_wrap("ember: a deep-learning framework you can read — train, evaluate and use "
                            "image classifiers from the command line."),
                epilog=textwrap.dedent("""\
                    examples:
                      ember train --model lenet5 --data fashion-mnist --epochs 5   # train; writes runs/<name>/
                      ember train --resume runs/lenet5-fashion-mnist-20260101-120000
                      ember eval runs/demo --tta flip
                      ember predict runs/demo shoe.png
                      ember finetune --from runs/demo --data mnist --freeze backbone
                      ember ensemble runs/a runs/b
                      ember models | ember datasets | ember info
                      ember lab list                                  # experiments behind the notes' claims

                    `ember COMMAND --help` shows each command's options."""))
    p.add_argument("--version", action="version", version=f"ember {ember.__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    subs = {}

    t = sub.add_parser("train", help="train a model; writes a run directory", formatter_class=_fmt(),
                       allow_abbrev=False, epilog=TRAIN_EXAMPLES,
                       description=_wrap("Train a model from the zoo on a dataset. The run directory (runs/<name>/) "
                                         "gets the config, metrics.jsonl, checkpoints, preprocessing statistics, the "
                                         "final model and PNG plots."))
    t.add_argument("--config", metavar="FILE", help="YAML, TOML or JSON file of training options")
    t.add_argument("--resume", metavar="RUN", help="continue the run in directory RUN from its last checkpoint")
    _add_train_options(t)
    t.set_defaults(func=cmd_train)
    subs["train"] = t

    f = sub.add_parser("finetune", help="fine-tune a trained run's model on new data (transfer learning)",
                       formatter_class=_fmt(), allow_abbrev=False,
                       description=_wrap("Build the architecture of a trained run with a new head for the new data's "
                                   "classes, load the weights that fit (reporting what was skipped), optionally "
                                   "freeze the backbone, and train."),
                       epilog=textwrap.dedent("""\
                           examples:
                             ember finetune --from runs/demo --data mnist --freeze backbone --epochs 2
                             ember finetune --from runs/demo --data mnist --freeze backbone --unfreeze-at 1 \\
                                            --lr 1e-4 --head-lr 1e-3 --epochs 3"""))
    f.add_argument("--from", dest="source", metavar="RUN", required=True, help="the trained run to start from")
    f.add_argument("--freeze", default="none", metavar="PART",
                   help="backbone (all but the classifier head), none, or comma-separated module names (default none)")
    f.add_argument("--unfreeze-at", type=int, metavar="EPOCH",
                   help="with --freeze backbone: train the whole network from this epoch on (gradual unfreezing)")
    f.add_argument("--head-lr", type=float, metavar="LR", help="learning rate of the head (default --lr)")
    f.add_argument("--backbone-lr", type=float, metavar="LR", help="learning rate of the backbone (default --lr)")
    f.add_argument("--keep-head", action="store_true",
                   help="also load the old head's weights when its shape fits (default: a fresh head)")
    f.add_argument("--config", metavar="FILE", help="YAML, TOML or JSON file of training options")
    _add_train_options(f, skip=("model", "model_args"))
    f.set_defaults(func=cmd_finetune)
    subs["finetune"] = f

    e = sub.add_parser("eval", help="evaluate a run's model on the test set", formatter_class=_fmt(),
                       allow_abbrev=False,
                       description=_wrap("Accuracy, top-5 accuracy, loss and per-class precision/recall/F1 on the test "
                                   "split of the run's dataset."),
                       epilog="examples:\n  ember eval runs/demo\n  ember eval runs/demo --tta flip\n"
                              "  ember eval runs/demo --weights best")
    e.add_argument("run", metavar="RUN", help="run directory, e.g. runs/demo")
    e.add_argument("--tta", nargs="?", const="flip", choices=("flip", "five_crop", "ten_crop"),
                   help="also report accuracy with test-time augmentation (default mode: flip)")
    e.add_argument("--weights", default="model", metavar="WHICH",
                   help="model (final weights, default), best, last, or a checkpoint path")
    e.add_argument("--data-root", metavar="DIR", help="where the dataset files are (default: as trained)")
    e.add_argument("--limit", type=int, metavar="N", help="evaluate on the first N test images only")
    e.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    e.set_defaults(func=cmd_eval)
    subs["eval"] = e

    pr = sub.add_parser("predict", help="classify image files with a run's model", formatter_class=_fmt(),
                        allow_abbrev=False,
                        description=_wrap("Print the top classes with their probabilities for each image. Images are "
                                    "converted to the model's channels; one of the wrong size is refused unless "
                                    "--resize is given."),
                        epilog="examples:\n  ember predict runs/demo shoe.png bag.png\n"
                               "  ember predict runs/demo photo.jpg --resize --invert   # dark garment on white")
    pr.add_argument("run", metavar="RUN", help="run directory, e.g. runs/demo")
    pr.add_argument("images", metavar="IMAGE", nargs="+", help="image files (PNG, JPEG, ...)")
    pr.add_argument("--top", type=int, default=5, metavar="K", help="how many classes to show (default 5)")
    pr.add_argument("--resize", action="store_true", help="resize images of the wrong size (with a warning)")
    pr.add_argument("--invert", action="store_true",
                    help="invert grey levels (Fashion-MNIST has light garments on black)")
    pr.add_argument("--tta", nargs="?", const="flip", choices=("flip", "five_crop", "ten_crop"),
                    help="average over test-time augmentations")
    pr.add_argument("--weights", default="model", metavar="WHICH", help="model (default), best, last or a path")
    pr.add_argument("--json", action="store_true", help="print JSON instead of a table")
    pr.set_defaults(func=cmd_predict)
    subs["predict"] = pr

    en = sub.add_parser("ensemble", help="accuracy of an ensemble of runs (or of one run's snapshots) vs its members",
                        formatter_class=_fmt(), allow_abbrev=False,
                        description=_wrap("Average the predicted probabilities of several trained runs — or, with "
                                    "--snapshots, of one run's periodic checkpoints — and compare the ensemble's "
                                    "test accuracy with each member's."),
                        epilog="examples:\n  ember ensemble runs/a runs/b runs/c\n"
                               "  ember ensemble runs/a --snapshots")
    en.add_argument("runs", metavar="RUN", nargs="+", help="run directories")
    en.add_argument("--snapshots", action="store_true", help="use the checkpoints of one run as the members")
    en.add_argument("--tta", nargs="?", const="flip", choices=("flip", "five_crop", "ten_crop"))
    en.add_argument("--data-root", metavar="DIR")
    en.add_argument("--limit", type=int, metavar="N", help="evaluate on the first N test images only")
    en.add_argument("--json", metavar="FILE", help="also write the report to FILE as JSON")
    en.set_defaults(func=cmd_ensemble)
    subs["ensemble"] = en

    m = sub.add_parser("models", help="the model zoo with parameter counts", formatter_class=_fmt(),
                       allow_abbrev=False, epilog="examples:\n  ember models\n"
                                                  "  ember models --input-size 32 --in-channels 3   # CIFAR-sized")
    m.add_argument("--input-size", type=int, default=28, metavar="N", help="image side (default 28)")
    m.add_argument("--in-channels", type=int, default=1, metavar="C", help="image channels (default 1)")
    m.add_argument("--num-classes", type=int, default=10, metavar="K", help="classes (default 10)")
    m.set_defaults(func=cmd_models)
    subs["models"] = m

    d = sub.add_parser("datasets", help="which datasets are available locally and where", formatter_class=_fmt(),
                       allow_abbrev=False, epilog="example:\n  ember datasets")
    d.set_defaults(func=cmd_datasets)
    subs["datasets"] = d

    lb = sub.add_parser("lab", help="runnable experiments that show the notes' claims (plots + measured numbers)",
                        formatter_class=_fmt(), allow_abbrev=False,
                        epilog="examples:\n  ember lab list\n  ember lab run xor\n"
                               "  ember lab run batchnorm --quick --out /tmp/bn")
    lb.add_argument("action", choices=("list", "run"), help="list the experiments, or run one")
    lb.add_argument("name", nargs="?", metavar="NAME", help="the experiment to run (see `ember lab list`)")
    lb.add_argument("--quick", action="store_true", help="a few-second version (smaller data, fewer steps)")
    lb.add_argument("--out", metavar="DIR", help="where the plots go (default runs/lab/NAME)")
    lb.set_defaults(func=cmd_lab)
    subs["lab"] = lb

    i = sub.add_parser("info", help="versions, NumPy's BLAS (core type, threads) and the CPU", formatter_class=_fmt(),
                       allow_abbrev=False, epilog="example:\n  ember info")
    i.set_defaults(func=cmd_info)
    subs["info"] = i
    p._subs = subs
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        parser._subs[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    from ember.data.errors import DataError, DatasetNotFoundError
    from ember.train.checkpoint import CheckpointError
    from ember.train.config import ConfigError
    from ember.train.rundir import RunNotFoundError
    from ember.train.runner import TrainingDiverged

    try:
        return int(args.func(args) or 0)
    except (UsageError, ConfigError, RunNotFoundError, CheckpointError, DatasetNotFoundError, DataError) as e:
        print(f"ember {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except TrainingDiverged as e:
        print(f"ember {args.command}: {e}", file=sys.stderr)
        return EXIT_DIVERGED
    except KeyboardInterrupt as e:
        rundir = getattr(e, "rundir", None)
        if rundir is not None:
            from ember.train.checkpoint import latest_checkpoint

            if latest_checkpoint(rundir.checkpoints) is not None:
                print(f"\ninterrupted; continue from the last checkpoint with `ember train --resume {rundir.path}`",
                      file=sys.stderr)
            else:
                print(f"\ninterrupted before the first checkpoint of {rundir.path}; start the run again",
                      file=sys.stderr)
        else:
            print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
