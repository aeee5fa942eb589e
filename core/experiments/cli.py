"""`python -m core experiment <action>` handlers (core/__main__.py parses the arguments)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from core.config import config_to_dict, load_config
from core.errors import ConfigError


def _variants(pairs: list[list[str]]) -> dict:
    """--variant NAME [key=value ...] (repeatable) -> {NAME: {key: value}}."""
    variants = {}
    for words in pairs or []:
        name, assignments = words[0], words[1:]
        if name in variants:
            raise ConfigError.of("errors_experiments.cli_variant_twice", name=name)
        overrides = {}
        for assignment in assignments:
            key, sep, value = assignment.partition("=")
            if not sep:
                raise ConfigError.of("errors_experiments.cli_variant_assignment", name=name, assignment=assignment)
            overrides[key.strip()] = value
        variants[name] = overrides
    return variants


def create(args) -> int:
    from core.experiments.queue import create_experiment, start_runner, run_queue
    from core.experiments.spec import make_spec, spec_from_dict

    if args.file:
        try:
            data = yaml.safe_load(Path(args.file).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ConfigError.of("errors_experiments.cli_file_unreadable", path=args.file, error=error) from None
        if args.name:
            data["name"] = args.name
        spec = spec_from_dict(data)
    else:
        base = load_config(args.config, overrides=args.set)
        spec = make_spec(args.name, config_to_dict(base), _variants(args.variant), folds=args.folds,
                         seeds=args.seeds)
    folder = create_experiment(spec, root=args.root)
    print(folder)
    if args.start == "background":
        print(f"runner pid {start_runner(folder)}", file=sys.stderr)
    elif args.start == "foreground":
        run_queue(folder, log=lambda text: print(text, file=sys.stderr, flush=True))
    return 0


def run(args) -> int:
    from core.experiments.queue import experiment_dir, run_queue

    items = run_queue(experiment_dir(args.experiment, args.root), log=lambda t: print(t, file=sys.stderr, flush=True))
    failed = [item["name"] for item in items if item["state"] == "failed"]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 0


def start(args) -> int:
    from core.experiments.queue import experiment_dir, start_runner

    print(start_runner(experiment_dir(args.experiment, args.root)))
    return 0


def item(args) -> int:
    from core.errors import MaskLabError
    from core.experiments.queue import read_queue, run_item

    name = read_queue(args.experiment)[args.index]["name"]
    try:
        run_item(args.experiment, args.index, log=lambda text: print(f"[{name}] {text}", flush=True))
    except MaskLabError as error:  # tagged so the runner can show which run failed and why
        print(f"[{name}] error: {error}", flush=True)
        return 2
    return 0


def cancel(args) -> int:
    from core.experiments.queue import cancel_experiment, experiment_dir

    signalled = cancel_experiment(experiment_dir(args.experiment, args.root))
    print(f"cancel asked; signalled {', '.join(signalled) or 'no running run'}", file=sys.stderr)
    return 0


def status(args) -> int:
    from core.experiments.queue import experiment_dir, experiment_progress

    progress = experiment_progress(experiment_dir(args.experiment, args.root))
    if args.json:
        print(json.dumps(progress))
        return 0
    print(f"{progress['name']}: {progress['state']} "
          + ", ".join(f"{count} {state}" for state, count in progress["counts"].items() if count))
    for entry in progress["items"]:
        epoch = f" epoch {entry['epoch']}/{entry['epochs']}" if entry.get("epochs") else ""
        print(f"  {entry['name']:<28} {entry['state']:<10}{epoch}" + (f"  {entry['error']}" if entry["error"] else ""))
    return 0


def compare(args) -> int:
    from core.experiments.compare import compare_experiment
    from core.experiments.queue import experiment_dir

    result = compare_experiment(experiment_dir(args.experiment, args.root), n_boot=args.bootstrap)
    if args.json:
        print(json.dumps(result))
        return 0
    for row in result["variants"]:
        f1, oof = _mean_spread(row["f1_mean"], row["f1_std"]), _mean_spread(row["oof_f1"], row["oof_f1_std"])
        print(f"{row['variant']:<20} runs {row['runs']}/{row['planned']}  val F1 {f1}  OOF F1 {oof}")
    for pair in result["pairs"]:
        print(pair["verdict"])
    return 0


def _mean_spread(mean, spread) -> str:
    if mean is None:
        return "-"
    return f"{mean:.4f}" + ("" if spread is None else f" ± {spread:.4f}")


def final(args) -> int:
    """Train the variant's final fit here, in the foreground (one run: nothing to queue)."""
    from core.experiments.queue import experiment_dir, final_fit_config
    from core.train.trainer import train_run

    config = final_fit_config(experiment_dir(args.experiment, args.root), args.variant, epochs=args.epochs)
    print(f"final fit of {args.variant}: {config.train.epochs} epochs on every person", file=sys.stderr)
    print(train_run(config, log=lambda text: print(text, file=sys.stderr, flush=True)))
    return 0


def ensemble(args) -> int:
    from core.experiments.ensemble import ensemble_members, run_ensemble

    members = ensemble_members(run_dirs=args.runs, experiment=args.experiment, variant=args.variant,
                               weights=args.weights, root=args.root)
    result = run_ensemble(members, data_dir=args.data_dir, out=args.out, tta=args.tta, checkpoint=args.checkpoint)
    if args.json:
        print(json.dumps(result))
    else:
        measured = "" if result["val_f1"] is None else f"; validation F1 {result['val_f1']:.4f} " \
                                                        f"on {result['val_images']} images"
        print(f"wrote {result['path']} ({result['rows']} rows, {len(result['members'])} runs{measured})",
              file=sys.stderr)
        print(result["path"])
    return 0


def search(args) -> int:
    from core.experiments.search import create_search, run_worker

    base = load_config(args.config, overrides=args.set)
    study = create_search(args.study, base, args.space, storage=args.storage, root=args.root, seed=args.seed)
    print(f"study {study['name']} in {study['storage']}", file=sys.stderr)
    if args.trials:
        run_worker(args.study, storage=study["storage"], trials=args.trials,
                   log=lambda text: print(text, file=sys.stderr, flush=True))
    return 0


def worker(args) -> int:
    from core.experiments.search import default_storage, run_worker

    run_worker(args.study, storage=args.storage or default_storage(args.root), trials=args.trials,
               log=lambda text: print(text, file=sys.stderr, flush=True))
    return 0


def best(args) -> int:
    from core.experiments.search import best_trial, default_storage

    result = best_trial(args.study, storage=args.storage or default_storage(args.root), out=args.out)
    print(json.dumps(result) if args.json else result["config_path"])
    return 0


def add_parser(commands, parser_class, int_list) -> None:
    """The `experiment` subcommand and its actions (parser_class and int_list: core/__main__.py's)."""
    experiment = commands.add_parser("experiment", help="variants x folds x seeds, compared honestly; search; "
                                                        "ensembles")
    actions = experiment.add_subparsers(dest="action", required=True, parser_class=parser_class)

    def action(name, handler, help):
        parser = actions.add_parser(name, help=help)
        parser.add_argument("--root", help="runs root (default: $MASKLAB_RUNS_DIR or runs)")
        parser.set_defaults(handler=f"core.experiments.cli:{handler}")
        return parser

    create_parser = action("create", "create", "queue an experiment: a base config and variants")
    create_parser.add_argument("--name", help="experiment name (folder under <runs root>/experiments)")
    create_parser.add_argument("--file", help="experiment YAML {name, base, variants, folds, seeds}")
    create_parser.add_argument("--config", help="base config YAML")
    create_parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="base override")
    create_parser.add_argument("--variant", action="append", nargs="+", metavar="NAME [KEY=VALUE]",
                               help="a variant: its name then its overrides (repeat per variant)")
    create_parser.add_argument("--folds", type=int, default=3, help="K folds by person (0 or 1 = plain split)")
    create_parser.add_argument("--seeds", type=int_list, default=[0], help="e.g. 0,1,2")
    create_parser.add_argument("--start", choices=("no", "background", "foreground"), default="no",
                               help="start the runner now (background = detached)")

    for name, help in (("run", "work through the queue here (resumes an interrupted experiment)"),
                       ("start", "start the runner as a detached process"),
                       ("cancel", "stop the running runs (resumable) and the queue"),
                       ("status", "the queue's state"), ("compare", "mean ± spread and paired verdicts")):
        parser = action(name, name, help)
        parser.add_argument("experiment", help="experiment name or folder")
        if name in ("status", "compare"):
            parser.add_argument("--json", action="store_true")
        if name == "compare":
            parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap draws")

    final_parser = action("final", "final", "train a variant on every person (no validation) for the epochs "
                                            "its folds chose; runs in the foreground")
    final_parser.add_argument("--name", dest="experiment", required=True, help="experiment name or folder")
    final_parser.add_argument("--variant", required=True)
    final_parser.add_argument("--epochs", type=int, help="default: the median best epoch of the variant's runs")

    item_parser = action("item", "item", "(internal) train one queued run and predict its validation images")
    item_parser.add_argument("experiment")
    item_parser.add_argument("index", type=int)

    ensemble_parser = action("ensemble", "ensemble", "average runs' probabilities into one submission")
    ensemble_parser.add_argument("--runs", nargs="+", default=[], metavar="RUN_DIR")
    ensemble_parser.add_argument("--experiment", help="take the runs of an experiment's variant")
    ensemble_parser.add_argument("--variant", help="with --experiment: which variant (all its folds and seeds)")
    ensemble_parser.add_argument("--weights", type=lambda t: [float(w) for w in t.split(",")], help="e.g. 2,1")
    ensemble_parser.add_argument("--data-dir", help="default: the first run's data.dir")
    ensemble_parser.add_argument("--out", help="default: <runs root>/ensembles/<date-time>/submission.csv")
    ensemble_parser.add_argument("--checkpoint", default="best", help="best or last")
    ensemble_parser.add_argument("--tta", action="store_true")
    ensemble_parser.add_argument("--json", action="store_true")

    search_parser = action("search", "search", "create (or join) an Optuna study over declared parameters")
    search_parser.add_argument("--study", required=True)
    search_parser.add_argument("--config", help="base config YAML")
    search_parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    search_parser.add_argument("--space", required=True, help="YAML: key: {low, high[, log]} or {choices: [...]}")
    search_parser.add_argument("--storage", help="Optuna storage URL (default: sqlite under the runs root)")
    search_parser.add_argument("--trials", type=int, default=0, help="trials to run here now (0 = create only)")
    search_parser.add_argument("--seed", type=int, default=0, help="TPE sampler seed")

    worker_parser = action("worker", "worker", "run trials of an existing study (any machine reaching the storage)")
    worker_parser.add_argument("--study", required=True)
    worker_parser.add_argument("--storage")
    worker_parser.add_argument("--trials", type=int, default=10)

    best_parser = action("best", "best", "write the best trial's config as a run config")
    best_parser.add_argument("--study", required=True)
    best_parser.add_argument("--storage")
    best_parser.add_argument("--out", help="default: <runs root>/experiments/<study>/best.yaml")
    best_parser.add_argument("--json", action="store_true")
