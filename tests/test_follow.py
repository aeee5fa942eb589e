"""Reading run directories into progress, curves, leaderboard and best-checkpoint tables (files written by hand)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from core.train import follow


def epoch_line(epoch, val_f1, val_acc=0.5, epoch_s=10.0, confusion=None):
    confusion = confusion or [[0] * 18 for _ in range(18)]
    return {"kind": "epoch", "epoch": epoch, "train_loss": 2.0 / epoch, "train_acc": 0.4, "train_f1": 0.3,
            "val_loss": 2.5 / epoch, "val_acc": val_acc, "val_f1": val_f1, "per_class_f1": [0.25] * 18,
            "confusion": confusion, "lr": 0.001, "elapsed_s": 10.0 * epoch, "epoch_s": epoch_s}


def step_line(epoch, step, steps=10, elapsed=1.0):
    return {"kind": "step", "epoch": epoch, "step": step, "steps_per_epoch": steps, "loss": 1.0 / step,
            "lr": 0.001, "elapsed_s": elapsed}


def write_run(root, name, status, lines, config=None, partial=False):
    run_dir = root / name
    run_dir.mkdir(parents=True)
    (run_dir / "status.json").write_text(json.dumps(status))
    text = "".join(json.dumps(line) + "\n" for line in lines)
    if partial:
        text += '{"kind": "step", "epo'  # the trainer is half-way through writing a line
    (run_dir / "metrics.jsonl").write_text(text)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config or {"model": {"name": "small_cnn"}}))
    return run_dir


def live_pid():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "train"])
    return process


@pytest.fixture
def running(tmp_path):
    process = live_pid()
    status = {"state": "running", "pid": process.pid, "epoch": 1, "epochs": 4, "step": 5, "steps_per_epoch": 10,
              "device": "cuda:0", "model": "resnet18", "best_val_f1": 0.4, "best_epoch": 1,
              "started_at": "2024-01-01T10:00:00", "updated_at": "2024-01-01T10:00:20"}
    lines = [step_line(1, 10, elapsed=8.0), epoch_line(1, 0.4, epoch_s=10.0), step_line(2, 5, elapsed=15.0)]
    yield write_run(tmp_path, "live", status, lines, partial=True)
    process.kill()
    process.wait()


def test_progress_of_a_running_run(running):
    progress = follow.run_progress(running)
    assert progress.state == "running" and progress.alive and progress.can_cancel and not progress.can_resume
    assert progress.epoch_fraction == pytest.approx(0.25)
    assert progress.step_fraction == pytest.approx(0.5)
    assert progress.step_text == "Epoch 2: step 5/10" and progress.epoch_text == "Epoch 1/4 done"
    assert progress.eta_s == pytest.approx((4 - 1 - 0.5) * 10.0)  # epochs left x seconds per epoch
    assert progress.device == "cuda:0" and progress.model == "resnet18"
    assert progress.elapsed_s >= 15.0


def test_a_running_status_whose_process_died_reads_stopped(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    run_dir = write_run(tmp_path, "dead", {"state": "running", "pid": process.pid, "epoch": 1, "epochs": 3}, [])
    progress = follow.run_progress(run_dir)
    assert progress.state == "stopped" and not progress.alive and progress.can_resume and progress.eta_s is None


def test_eta_from_the_step_rate_before_any_epoch_ends():
    metrics = [step_line(1, 2, steps=10, elapsed=2.0), step_line(1, 6, steps=10, elapsed=6.0)]
    # 1 s per step, 2 epochs x 10 steps = 20, 6 done
    assert follow.estimate_eta(metrics, 0, 2, 6, 10) == pytest.approx(14.0)
    assert follow.estimate_eta([], 0, 2, 0, 10) is None
    assert follow.estimate_eta([], 2, 2, 0, 10) == 0.0


def test_curves_table_has_both_splits_of_each_metric(running):
    table = follow.curves(running)
    assert set(table["metric"]) == {"loss", "accuracy", "macro F1"}
    assert set(table["split"]) == {"train", "val"}
    val_f1 = table[(table["metric"] == "macro F1") & (table["split"] == "val")]
    assert val_f1["value"].tolist() == [0.4]
    chart = follow.curves_chart(table, "macro F1").to_dict()
    assert chart["mark"]["type"] == "line" and chart["encoding"]["x"]["field"] == "epoch"
    assert chart["encoding"]["x"]["axis"]["format"] == "d"  # whole epochs: one epoch read "1.000000" in a browser
    losses = follow.step_losses(running)
    assert losses["epoch"].tolist() == pytest.approx([1.0, 1.5])


def test_a_resumed_epoch_keeps_its_latest_line():
    rows = follow.epoch_rows([epoch_line(1, 0.1), epoch_line(2, 0.2), epoch_line(2, 0.3)])
    assert [row["val_f1"] for row in rows] == [0.1, 0.3]


def test_leaderboard_sorts_by_best_f1_and_shows_settings_that_differ(tmp_path):
    done = {"state": "finished", "epoch": 2, "epochs": 2, "best_epoch": 1, "model": "small_cnn"}
    write_run(tmp_path, "a", done, [epoch_line(1, 0.7, val_acc=0.8), epoch_line(2, 0.6)],
              config={"model": {"name": "small_cnn"}, "optim": {"lr": 0.01}, "run": {"name": "a"}})
    write_run(tmp_path, "b", dict(done, best_epoch=2), [epoch_line(1, 0.5), epoch_line(2, 0.9, val_acc=0.95)],
              config={"model": {"name": "small_cnn"}, "optim": {"lr": 0.001}, "run": {"name": "b"}})
    write_run(tmp_path, "c", {"state": "failed", "epoch": 0, "epochs": 2, "error": "boom"}, [],
              config={"model": {"name": "small_cnn"}, "optim": {"lr": 0.001}, "run": {"name": "c"}})
    (tmp_path / ".launches").mkdir()
    table = follow.leaderboard(tmp_path)
    assert table["run"].tolist() == ["b", "a", "c"]
    assert table["best val F1"].tolist()[:2] == [0.9, 0.7]
    assert table["val accuracy"].tolist()[:2] == [0.95, 0.8]  # accuracy of the best epoch, not the last
    assert "optim.lr" in table.columns and "model.name" in table.columns
    assert "run.name" not in table.columns
    assert table.loc[2, "state"] == "failed"
    assert follow.leaderboard(tmp_path / "nothing").empty


def test_key_settings_are_columns_with_short_headers(tmp_path):
    done = {"state": "finished", "epoch": 1, "epochs": 1, "model": "small_cnn"}
    for name, lr in (("a", 0.01), ("b", 0.001)):  # the same three-head setting in both: a key column all the same
        write_run(tmp_path, name, done, [epoch_line(1, lr * 10)],
                  config={"model": {"name": "small_cnn", "heads": "multi"}, "optim": {"lr": lr}, "train": {"epochs": 1}})
    table = follow.leaderboard(tmp_path)
    assert table["model.heads"].tolist() == ["multi", "multi"]
    headers = follow.leaderboard_headers(table)
    assert headers["model.heads"] == "heads" and headers["model.name"] == "model"
    # What the page leaves out: a repeat of model.name, the sort helper, and train.epochs ("epochs" has it).
    assert not {"model", "time (s)", "device", "train.epochs"} & set(headers)
    assert list(headers)[:2] == ["run", "state"]


def test_overlay_of_two_runs(tmp_path):
    done = {"state": "finished", "epoch": 2, "epochs": 2}
    a = write_run(tmp_path, "a", done, [epoch_line(1, 0.1), epoch_line(2, 0.2)])
    b = write_run(tmp_path, "b", done, [epoch_line(1, 0.3)])
    table = follow.overlay([a, b])
    assert set(table["run"]) == {"a", "b"}
    assert len(table[table["run"] == "a"]) == 2 * len(table[table["run"] == "b"])
    chart = follow.curves_chart(table, "loss", by_run=True).to_dict()
    assert chart["encoding"]["color"]["field"] == "run"


def test_best_checkpoint_tables_and_confusion_cells(tmp_path):
    confusion = [[0] * 18 for _ in range(18)]
    confusion[0][0], confusion[0][3], confusion[5][2], confusion[5][5] = 7, 2, 4, 1
    run_dir = write_run(tmp_path, "r", {"state": "finished", "best_epoch": 1},
                        [epoch_line(1, 0.8, confusion=confusion), epoch_line(2, 0.5)])
    best = follow.best_epoch_row(run_dir)
    assert best["epoch"] == 1
    classes = follow.per_class_table(best)
    assert len(classes) == 18 and classes.loc[0, "support"] == 9 and classes.loc[5, "support"] == 5
    cells = follow.error_cells(follow.confusion_table(best))
    assert [(c.true, c.predicted, c.count) for c in cells.itertuples()] == [(5, 2, 4), (0, 3, 2)]
    import pandas as pd
    predictions = pd.DataFrame({"path": ["x.jpg", "y.jpg", "z.jpg"], "label": [5, 5, 0], "pred": [2, 5, 3]})
    assert follow.cell_images(predictions, 5, 2)["path"].tolist() == ["x.jpg"]


def test_log_tail_falls_back_to_the_launch_output(tmp_path):
    run_dir = tmp_path / "r"
    (tmp_path / ".launches").mkdir()
    (tmp_path / ".launches" / "r.log").write_text("error: data.dir: no train/ folder\n")
    assert "no train/ folder" in follow.run_log_tail(run_dir)
    run_dir.mkdir()
    (run_dir / "train.log").write_text("epoch 1 done\n")
    tail = follow.run_log_tail(run_dir)
    assert "epoch 1 done" in tail and "no train/ folder" in tail


def test_class_distribution_shares():
    table = follow.class_distribution([0, 0, 1, 17], "submission")
    assert len(table) == 18 and table.loc[0, "share"] == 0.5 and table.loc[17, "count"] == 1
    assert table["share"].sum() == pytest.approx(1.0)


def test_format_seconds():
    assert follow.format_seconds(65) == "1:05" and follow.format_seconds(3725) == "1:02:05"
    assert follow.format_seconds(None) == "—"
