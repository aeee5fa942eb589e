"""The label-noise finder on demo data with planted wrong labels: precision and recall, against the plain rule.

    python bench/noise.py [--people 150] [--epochs 12] [--out build/bench-noise] [--set key=value ...] [--reuse-runs]

Generates the demo dataset (clean: every label is right), copies it and plants wrong labels in the copy
through relabel.csv, as a careless annotator would: whole people with the other gender, whole people moved
to another age band, and single photos with another mask state (all in the training split). Trains the demo
config (configs/demo.yaml) once on each, then scores the suspects of both finders from the same runs:
  often wrong  - misclassified in more than train.noise_min_fraction of the counted epochs (the old rule);
  evidence     - that, and a mean loss at least EVIDENCE_MIN class spreads above its class's median.
Prints, per finder: suspects on the clean data (all false; how many from the rare classes) and, on the noisy
data, suspects, precision (share of suspects that were planted) and recall (share of planted images found),
overall and per kind of noise. A benchmark, not a test: the numbers depend on the model and the epochs.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from core.config import check_config, load_config  # noqa: E402
from core.data.demo import generate_demo_dataset, is_complete_demo  # noqa: E402
from core.data.relabel import append_relabels  # noqa: E402
from core.labels import decode  # noqa: E402
from core.train.checkpoints import load_checkpoint  # noqa: E402
from core.train.noise import EVIDENCE_MIN, NoiseTracker  # noqa: E402
from core.train.run_data import scan_run_images, split_run_images  # noqa: E402
from core.train.runs import LAST_CHECKPOINT  # noqa: E402
from core.train.trainer import train_run  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MASK_VALUES = ("wear", "incorrect", "not wear")


def plant_noise(data_dir: Path, train_images, rng, genders: int, ages: int, masks: int) -> dict[str, str]:
    """Write wrong labels into data_dir/relabel.csv; returns {image path: kind of noise} of every image changed."""
    folders = sorted(set(train_images["path"].str.rsplit("/", n=1).str[0]))
    chosen = rng.choice(len(folders), size=genders + ages, replace=False)
    rows, planted = [], {}
    by_folder = train_images.assign(folder=train_images["path"].str.rsplit("/", n=1).str[0]).groupby("folder")
    for number, index in enumerate(chosen):
        folder = folders[index]
        photos = by_folder.get_group(folder)
        first = photos.iloc[0]
        if number < genders:
            rows.append({"path": folder, "field": "gender", "value": "female" if first["gender"] == "male" else "male"})
            kind = "gender (person)"
        else:  # into a neighbouring band, well inside it: an age typed wrongly, not an edge case
            band = int(first["age_label"])
            rows.append({"path": folder, "field": "age", "value": 45 if band != 1 else int(rng.choice([20, 70]))})
            kind = "age (person)"
        planted.update({path: kind for path in photos["path"]})
    others = train_images[~train_images["path"].isin(planted)]
    for index in rng.choice(len(others), size=masks, replace=False):
        image = others.iloc[int(index)]
        wrong = [value for value in range(3) if value != int(image["mask"])]
        rows.append({"path": image["path"], "field": "mask", "value": MASK_VALUES[int(rng.choice(wrong))]})
        planted[image["path"]] = "mask (photo)"
    append_relabels(data_dir, rows)
    return planted


def train_and_track(config_path: str, data_dir: Path, runs: Path, name: str, overrides: list[str], reuse: bool):
    """Train the demo config on data_dir (or, with `reuse`, take the finished run left by an earlier call: the
    trainer records the same losses whatever the finder's rule); returns (config, the run's training images in
    tracker order, its tracker)."""
    config = check_config(load_config(config_path, overrides=[
        f"data.dir={data_dir}", f"run.root={runs}", f"run.name={name}", *overrides]), warn=print)
    run_dir = runs / name
    if not (reuse and (run_dir / LAST_CHECKPOINT).exists()):
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir = train_run(config, log=lambda text: print(f"  [{name}] {text}", flush=True))
    tracker = NoiseTracker(0)
    tracker.load_state_dict(load_checkpoint(run_dir / LAST_CHECKPOINT)["noise"])
    train_images, _ = split_run_images(config, scan_run_images(config, data_dir))
    if len(train_images) != tracker.num_items:
        raise SystemExit(f"{run_dir}: {tracker.num_items} tracked images but the split has {len(train_images)}")
    return config, train_images.reset_index(drop=True), tracker


def rare(label: int) -> bool:
    mask, _, age = decode(label)
    return mask == 1 or age == 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=150, help="demo people (150 = the app's demo dataset)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--gender-people", type=int, default=4)
    parser.add_argument("--age-people", type=int, default=4)
    parser.add_argument("--mask-photos", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", default=str(REPO / "configs" / "demo.yaml"))
    parser.add_argument("--set", action="append", default=[], help="more config overrides, key=value")
    parser.add_argument("--out", default=str(REPO / "build" / "bench-noise"))
    parser.add_argument("--reuse-runs", action="store_true",
                        help="score the runs an earlier call left in --out instead of training again (same settings)")
    args = parser.parse_args()
    out = Path(args.out)
    clean = out / f"demo-{args.people}"
    if not is_complete_demo(clean):
        shutil.rmtree(clean, ignore_errors=True)
        print(f"generating {args.people} demo people into {clean}", flush=True)
        generate_demo_dataset(clean, people=args.people, eval_people=0, seed=args.seed)
    noisy = out / f"demo-{args.people}-noisy"
    shutil.rmtree(noisy, ignore_errors=True)
    shutil.copytree(clean, noisy)
    overrides = [f"train.epochs={args.epochs}", *args.set]

    config, clean_images, clean_tracker = train_and_track(args.config, clean, out / "runs", "clean", overrides,
                                                                 args.reuse_runs)
    split_images, _ = split_run_images(config, scan_run_images(config, noisy))
    planted = plant_noise(noisy, split_images, np.random.default_rng(args.seed), args.gender_people,
                          args.age_people, args.mask_photos)
    _, noisy_images, noisy_tracker = train_and_track(args.config, noisy, out / "runs", "noisy", overrides,
                                                        args.reuse_runs)
    # The split is stratified by gender and age, so a planted person may move to validation: score what trained.
    trained = set(noisy_images["path"])
    print(f"{sum(path in trained for path in planted)} of {len(planted)} planted images are in the noisy run's "
          "training split")
    planted = {path: kind for path, kind in planted.items() if path in trained}

    train = config.train
    edges = tuple(config.data.age_edges)
    kinds = sorted(set(planted.values()))
    print(f"\n{args.people} demo people, {len(clean_images)} training images, {args.epochs} epochs "
          f"(model {config.model.name}, {config.data.image_size[0]}x{config.data.image_size[1]}); planted "
          f"{len(planted)} wrong labels: " + ", ".join(f"{sum(k == kind for k in planted.values())} {kind}"
                                                      for kind in kinds))
    header = f"{'finder':<24}{'clean: suspects':>16}{'rare':>6}{'noisy: suspects':>17}{'precision':>11}{'recall':>8}"
    print(header + "".join(f"{'recall ' + kind.split()[0]:>15}" for kind in kinds))
    for name, evidence_min in (("often wrong (old)", None), (f"evidence >= {EVIDENCE_MIN:g}", EVIDENCE_MIN)):
        arguments = dict(skip_epochs=train.noise_skip_epochs, min_fraction=train.noise_min_fraction, age_edges=edges,
                         evidence_min=evidence_min)
        false_alarms = clean_tracker.suspects(clean_images, **arguments)
        rare_alarms = int(sum(rare(int(label)) for label in false_alarms["given_label"]))
        found = noisy_tracker.suspects(noisy_images, **arguments)
        hits = found["path"].isin(planted)
        precision = hits.mean() if len(found) else float("nan")
        recall = hits.sum() / len(planted)
        per_kind = [found["path"][hits].map(planted).eq(kind).sum() / sum(k == kind for k in planted.values())
                    for kind in kinds]
        print(f"{name:<24}{len(false_alarms):>16}{rare_alarms:>6}{len(found):>17}{precision:>11.2f}{recall:>8.2f}"
              + "".join(f"{value:>15.2f}" for value in per_kind))


if __name__ == "__main__":
    main()
