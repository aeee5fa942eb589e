"""An honest comparison of an experiment's variants: mean ± spread of macro F1 over folds and seeds, the
out-of-fold F1, and for each pair a paired bootstrap of the F1 difference on the same validation images.

The bootstrap resamples images (the same draw for both variants and every seed), so what varies between
the two sides is only the model: "B beats A by 0.031 (95% interval 0.012-0.050)" when the interval
excludes 0, "within noise" when it does not. Macro F1 is core.train.metrics' (the grader's definition).
"""
from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np

from core.experiments.oof import out_of_fold, read_val_probs
from core.train.metrics import classification_metrics, macro_f1


def paired_bootstrap(labels, probs_a: list, probs_b: list, n_boot: int = 1000, seed: int = 0,
                     level: float = 0.95) -> dict:
    """F1(B) - F1(A) averaged over seeds, with a bootstrap interval over images.

    `probs_a`/`probs_b`: one N x 18 array (or N predicted classes) per seed, rows aligned with `labels`.
    """
    labels = np.asarray(labels)
    predictions_a = [_classes(p) for p in probs_a]
    predictions_b = [_classes(p) for p in probs_b]
    if len(predictions_a) != len(predictions_b) or not predictions_a:
        raise ValueError("paired_bootstrap: both sides need the same number of seeds (at least one)")

    def difference(index) -> float:
        return float(np.mean([macro_f1(labels[index], b[index]) - macro_f1(labels[index], a[index])
                              for a, b in zip(predictions_a, predictions_b)]))

    observed = difference(slice(None))
    rng = np.random.default_rng(seed)
    draws = np.array([difference(rng.integers(0, len(labels), len(labels))) for _ in range(n_boot)])
    low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return {"difference": observed, "low": float(low), "high": float(high), "level": level, "n_boot": n_boot,
            "images": int(len(labels)), "seeds": len(predictions_a), "significant": bool(low > 0 or high < 0)}


def verdict(name_a: str, name_b: str, result: dict) -> str:
    """One sentence: who beats whom by how much, or that the difference is within noise."""
    from core.i18n import t  # the session's language on a page, English in the CLI

    level = f"{round(result['level'] * 100)}%"
    if not result["significant"]:
        return t("experiments.verdict_noise", a=name_a, b=name_b, difference=result["difference"], level=level,
                 low=result["low"], high=result["high"])
    winner, loser, sign = (name_b, name_a, 1) if result["difference"] > 0 else (name_a, name_b, -1)
    low, high = sorted((sign * result["low"], sign * result["high"]))
    return t("experiments.verdict_beats", winner=winner, loser=loser, difference=abs(result["difference"]),
             level=level, low=low, high=high)


def _classes(probs) -> np.ndarray:
    probs = np.asarray(probs)
    return probs.argmax(1) if probs.ndim == 2 else probs.astype(np.int64)


def collect_predictions(items: list[dict]) -> dict:
    """{variant: {seed: [val_probs of each finished fold]}} from queue items."""
    found: dict = {}
    for item in items:
        if item["state"] != "finished":
            continue
        probs = read_val_probs(item["run_dir"])
        if probs is not None:
            found.setdefault(item["variant"], {}).setdefault(item["seed"], []).append({**probs, "fold": item["fold"]})
    return found


def compare_items(items: list[dict], folds: int, n_boot: int = 1000) -> dict:
    """The comparison table of an experiment's finished items (see compare_experiment)."""
    expected_folds = max(1, folds)
    predictions = collect_predictions(items)
    variants, pooled = [], {}
    for variant in dict.fromkeys(item["variant"] for item in items):
        seeds = predictions.get(variant, {})
        run_f1 = [macro_f1(p["labels"], _classes(p["probs"])) for parts in seeds.values() for p in parts]
        complete = {seed: out_of_fold(parts) for seed, parts in seeds.items() if len(parts) == expected_folds}
        oof_f1 = [macro_f1(oof["labels"], _classes(oof["probs"])) for oof in complete.values()]
        row = {"variant": variant, "runs": len(run_f1), "planned": sum(item["variant"] == variant for item in items),
               "f1_mean": _mean(run_f1), "f1_std": _std(run_f1), "f1_min": min(run_f1) if run_f1 else None,
               "f1_max": max(run_f1) if run_f1 else None, "oof_f1": _mean(oof_f1), "oof_f1_std": _std(oof_f1),
               "seeds_complete": sorted(complete), "per_class_f1": None,
               "final_epochs": final_epochs([item for item in items if item["variant"] == variant])}
        if complete:
            labels = np.concatenate([oof["labels"] for oof in complete.values()])
            classes = np.concatenate([_classes(oof["probs"]) for oof in complete.values()])
            row["per_class_f1"] = classification_metrics(labels, classes)["per_class_f1"]
            pooled[variant] = complete
        variants.append(row)
    pairs = []
    for name_a, name_b in combinations(list(pooled), 2):
        labels, probs_a, probs_b = _aligned(pooled[name_a], pooled[name_b])
        if labels is None:
            continue
        result = paired_bootstrap(labels, probs_a, probs_b, n_boot=n_boot)
        pairs.append({"a": name_a, "b": name_b, **result, "verdict": verdict(name_a, name_b, result)})
    return {"variants": variants, "pairs": pairs}


def _aligned(side_a: dict, side_b: dict):
    """Labels and per-seed probabilities of the images and seeds both sides predicted, in one order."""
    seeds = sorted(set(side_a) & set(side_b))
    if not seeds:
        return None, None, None
    paths = side_a[seeds[0]]["paths"]
    for side in (side_a, side_b):
        for seed in seeds:
            paths = np.intersect1d(paths, side[seed]["paths"])
    if len(paths) == 0:
        return None, None, None

    def rows(oof):
        return np.searchsorted(oof["paths"], paths)  # out_of_fold sorts by path

    first = side_a[seeds[0]]
    labels = first["labels"][rows(first)]
    return (labels, [side_a[s]["probs"][rows(side_a[s])] for s in seeds],
            [side_b[s]["probs"][rows(side_b[s])] for s in seeds])


def compare_experiment(folder, n_boot: int = 1000) -> dict:
    """{variants: [{variant, runs, planned, f1_mean, f1_std, f1_min, f1_max, oof_f1, oof_f1_std,
    seeds_complete, per_class_f1, final_epochs}],
     pairs: [{a, b, difference, low, high, significant, verdict, ...}]}.

    f1_* are over every finished run (folds x seeds) on its own validation fold; oof_f1 is the macro F1 of
    the joined folds of one seed (each image predicted by the model that did not train on it), mean and
    spread over seeds; final_epochs the median best epoch of the runs (for a final fit). Pairs need both
    variants' folds complete for a common seed.
    """
    from core.experiments.queue import read_queue, read_spec

    spec = read_spec(folder)
    return {"name": Path(folder).name, **compare_items(read_queue(folder), spec.folds, n_boot=n_boot)}


def final_epochs(items: list[dict]) -> int | None:
    """Epochs for a final fit on every person: the median of the finished runs' best epochs."""
    from core.train import runs

    best = [runs.read_status(item["run_dir"]).get("best_epoch") for item in items if item["state"] == "finished"]
    best = [int(epoch) for epoch in best if epoch]
    return int(round(float(np.median(best)))) if best else None


def _mean(values):
    return float(np.mean(values)) if values else None


def _std(values):
    return float(np.std(values, ddof=1)) if len(values) > 1 else None  # one value has no spread
