"""Search over declared parameters with Optuna: TPE sampling, median pruning on per-epoch val F1.

A search space is a mapping of config keys to a range or a list of choices, each checked against the
key's declaration (core.config.find_param):

    optim.lr: {low: 1.0e-4, high: 1.0e-2, log: true}
    train.epochs: {low: 2, high: 6}
    loss.name: {choices: [ce, focal]}
    data.age_edges: {choices: [[30, 60], [30, 58]]}
    augment.train: {choices: [pipelines/light.json, pipelines/strong.json]}

The study keeps its space and base config (study user attributes), so a worker on any machine that
reaches the storage runs the same search: `python -m core experiment worker --study NAME --storage URL`.
Each trial is an ordinary run (`python -m core train` in a child process) under
`<runs root>/experiments/<study>/trials/trial-<number>`; a pruned trial's run is cancelled. Pruning reads
the trainer's per-epoch val F1; a finished trial's value is its final model's macro F1 on its validation
images scored on the competition's classes (core.experiments.oof), as an experiment's comparison does.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import zlib
from pathlib import Path

from core.config import config_from_dict, config_to_dict, find_param, save_config
from core.errors import ConfigError
from core.experiments.spec import check_name
from core.train import runs

RANGE_KEYS = {"low", "high", "log", "step"}
REPO_ROOT = Path(__file__).resolve().parents[2]


class TrialFailed(Exception):
    """A trial's run ended without finishing; Optuna records the trial as failed and the worker goes on."""


def default_storage(root=None) -> str:
    folder = runs.runs_root(root).resolve() / "experiments"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'optuna.db'}"


def check_space(space) -> dict:
    """The space normalised to {key: {"low", "high", "log", "step"} | {"choices": [...]}} (JSON-safe)."""
    if not isinstance(space, dict) or not space:
        raise ConfigError.of("errors_experiments.space_empty", example="optim.lr: {low: 1.0e-4, high: 1.0e-2}")
    checked = {}
    for key, spec in space.items():
        if str(key).startswith("run."):
            raise ConfigError.of("errors_experiments.space_run_key", setting=key)
        if key == "train.final_fit":
            raise ConfigError.of("errors_experiments.space_final_fit")
        param = find_param(str(key))
        where = f"search space: {key}"
        if not isinstance(spec, dict):
            raise ConfigError.of("errors_experiments.space_not_mapping", setting=key, spec=spec)
        if "choices" in spec:
            if set(spec) != {"choices"} or not isinstance(spec["choices"], list) or not spec["choices"]:
                raise ConfigError.of("errors_experiments.space_choices", setting=key)
            values = [param.validate(value, where) for value in spec["choices"]]
            checked[key] = {"choices": [list(v) if isinstance(v, tuple) else v for v in values]}
            continue
        unknown = set(spec) - RANGE_KEYS
        if unknown or not {"low", "high"} <= set(spec):
            raise ConfigError.of("errors_experiments.space_range_keys", setting=key, given=", ".join(spec))
        if param.kind not in ("int", "float"):
            raise ConfigError.of("errors_experiments.space_not_numeric", setting=key, kind=param.kind)
        low, high = param.validate(spec["low"], where), param.validate(spec["high"], where)
        if not low < high:
            raise ConfigError.of("errors_experiments.space_low_high", setting=key, low=low, high=high)
        log = bool(spec.get("log", False))
        if log and low <= 0:
            raise ConfigError.of("errors_experiments.space_log_low", setting=key, low=low)
        checked[key] = {"low": low, "high": high, "log": log, "kind": param.kind}
        if spec.get("step") is not None:
            checked[key]["step"] = spec["step"]
    return checked


def load_space(path_or_space) -> dict:
    if isinstance(path_or_space, dict):
        return check_space(path_or_space)
    import yaml

    try:
        data = yaml.safe_load(Path(path_or_space).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError.of("errors_experiments.space_unreadable", path=path_or_space, error=error) from None
    try:
        return check_space(data)
    except ConfigError as error:
        raise ConfigError.of("errors_experiments.space_in_file", path=path_or_space, error=error) from None


def _optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _open_study(name: str, storage: str, create: bool, seed: int = 0):
    optuna = _optuna()
    sampler = optuna.samplers.TPESampler(seed=zlib.crc32(f"{seed}:{socket.gethostname()}:{os.getpid()}".encode()),
                                         n_startup_trials=4)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    try:
        if create:
            return optuna.create_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner,
                                       direction="maximize", load_if_exists=True)
        return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    except KeyError:
        raise ConfigError.of("errors_experiments.study_missing", name=name, storage=storage) from None
    except Exception as error:  # sqlalchemy/optuna raise many kinds for a bad or unreachable URL
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError.of("errors_experiments.storage_unreachable", storage=storage, reason=first) from None


def create_search(name: str, base, space, storage: str | None = None, root=None, seed: int = 0) -> dict:
    """Create the study (or join it when it exists with the same space and base); returns {name, storage}."""
    name = check_name(name, "--study")
    space = load_space(space)
    base_dict = config_to_dict(base) if not isinstance(base, dict) else config_to_dict(config_from_dict(base))
    if base_dict["train"]["final_fit"]:
        raise ConfigError.of("errors_experiments.search_final_fit_base")
    storage = storage or default_storage(root)
    study = _open_study(name, storage, create=True, seed=seed)
    saved_space, saved_base = study.user_attrs.get("space"), study.user_attrs.get("base")
    if saved_space is not None and (saved_space != space or saved_base != base_dict):
        other = "study_other_space" if saved_space != space else "study_other_base"
        raise ConfigError.of(f"errors_experiments.{other}", name=name, storage=storage)
    if saved_space is None:
        study.set_user_attr("space", space)
        study.set_user_attr("base", base_dict)
        study.set_user_attr("runs_root", str(runs.runs_root(root).resolve()))
    return {"name": name, "storage": storage}


def decode(key: str, value):
    """A suggested value as the config wants it (list choices travel as JSON text)."""
    return json.loads(value) if isinstance(value, str) and value.startswith("[") else value


def suggest(trial, space: dict) -> dict:
    params = {}
    for key, spec in space.items():
        if "choices" in spec:
            options = [json.dumps(v) if isinstance(v, list) else v for v in spec["choices"]]
            params[key] = decode(key, trial.suggest_categorical(key, options))
        elif spec["kind"] == "int":
            params[key] = trial.suggest_int(key, int(spec["low"]), int(spec["high"]), log=spec["log"],
                                            step=int(spec.get("step") or 1))
        else:
            params[key] = trial.suggest_float(key, spec["low"], spec["high"], log=spec["log"], step=spec.get("step"))
    return params


def trial_config(base: dict, params: dict, runs_dir=None, name: str | None = None):
    data = config_to_dict(config_from_dict(base))
    for key, value in params.items():
        section, field_name = key.split(".", 1)
        data[section][field_name] = value
    if runs_dir is not None:
        data["run"]["root"], data["run"]["name"] = str(runs_dir), name
    return config_from_dict(data)


def run_worker(study_name: str, storage: str, trials: int = 10, log=None, poll_s: float = 0.5) -> int:
    """Run `trials` trials of an existing study here; returns how many this worker ran."""
    log = log or (lambda text: print(text, flush=True))
    study = _open_study(study_name, storage, create=False)
    space, base = study.user_attrs.get("space"), study.user_attrs.get("base")
    if not space or not base:
        raise ConfigError.of("errors_experiments.study_foreign", name=study_name)
    trials_dir = Path(study.user_attrs.get("runs_root") or runs.runs_root()) / "experiments" / study_name / "trials"
    trials_dir.mkdir(parents=True, exist_ok=True)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    ran = [0]

    def objective(trial):
        optuna = _optuna()
        params = suggest(trial, space)
        name = f"trial-{trial.number}"
        config = trial_config(base, params, trials_dir, name)
        trial.set_user_attr("worker", worker)
        trial.set_user_attr("run_dir", str(trials_dir / name))
        config_path = save_config(config, trials_dir / f"{name}.yaml")
        log(f"[{name}] {worker}: {json.dumps(params)}")
        ran[0] += 1
        value, pruned = _train_reporting(trial, config_path, trials_dir / name, poll_s)
        if pruned:
            log(f"[{name}] pruned")
            raise optuna.TrialPruned()
        log(f"[{name}] best val F1 {value:.4f}")
        return value

    study.optimize(objective, n_trials=trials, catch=(TrialFailed,))
    return ran[0]


def _train_reporting(trial, config_path: Path, run_dir: Path, poll_s: float) -> tuple[float | None, bool]:
    """Train in a child process, reporting each epoch's val F1; cancel it when the pruner says so."""
    with open(config_path.with_suffix(".log"), "ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "core", "train", "--config", str(config_path)], cwd=REPO_ROOT,
                                   env=dict(os.environ, PYTHONUNBUFFERED="1"), stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    reported, pruned = 0, False
    while True:
        done = process.poll() is not None
        for record in runs.read_metrics(run_dir, "epoch")[reported:]:
            reported += 1
            trial.report(float(record["val_f1"]), int(record["epoch"]))
            if not pruned and trial.should_prune():
                pruned = True
                os.killpg(process.pid, signal.SIGTERM)  # the trainer saves and marks the run cancelled
        if done:
            break
        time.sleep(poll_s)
    if pruned:
        return None, True
    status = runs.read_status(run_dir)
    if process.returncode != 0 or status.get("state") != "finished":
        raise TrialFailed(f"{run_dir}: {status.get('error') or f'exit code {process.returncode}'}")
    return validation_f1(run_dir), False


def validation_f1(run_dir) -> float:
    """The trial's value: macro F1 of its final model on its validation images, on the competition's classes
    (the trainer's own val_f1 uses the run's age edges, which an age-edge search changes)."""
    from core.experiments.oof import write_val_probs, read_val_probs
    from core.train.metrics import macro_f1

    write_val_probs(run_dir)
    probs = read_val_probs(run_dir)
    return macro_f1(probs["labels"], probs["probs"].argmax(1))


def best_trial(study_name: str, storage: str, out=None) -> dict:
    """The best finished trial and its config written as a run config (a plain `train --config` repeats it)."""
    study = _open_study(study_name, storage, create=False)
    try:
        best = study.best_trial
    except ValueError:
        raise ConfigError.of("errors_experiments.study_no_trial", name=study_name) from None
    params = {key: decode(key, value) for key, value in best.params.items()}
    config = trial_config(study.user_attrs["base"], params)
    root = Path(study.user_attrs.get("runs_root") or runs.runs_root())
    path = Path(out) if out else root / "experiments" / study_name / "best.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_config(config, path)
    return {"study": study_name, "trial": best.number, "value": best.value, "params": params,
            "run_dir": best.user_attrs.get("run_dir"), "config_path": str(path)}


def study_trials(study_name: str, storage: str) -> list[dict]:
    """Every trial: {number, state, value, params, worker, run_dir}."""
    study = _open_study(study_name, storage, create=False)
    return [{"number": t.number, "state": t.state.name, "value": t.value,
             "params": {k: decode(k, v) for k, v in t.params.items()}, "worker": t.user_attrs.get("worker"),
             "run_dir": t.user_attrs.get("run_dir")} for t in study.trials]
