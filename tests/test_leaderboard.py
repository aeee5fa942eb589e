"""The leaderboard, the best checkpoint's tables and a submission's class mix, from run files."""
from __future__ import annotations

import pytest

from core.train import leaderboard
from tests.run_files import epoch_line, write_run


def test_leaderboard_sorts_by_best_f1_and_shows_settings_that_differ(tmp_path):
    done = {"state": "finished", "epoch": 2, "epochs": 2, "best_epoch": 1, "model": "small_cnn"}
    write_run(tmp_path, "a", done, [epoch_line(1, 0.7, val_acc=0.8), epoch_line(2, 0.6)],
              config={"model": {"name": "small_cnn"}, "optim": {"lr": 0.01}, "run": {"name": "a"}})
    write_run(tmp_path, "b", dict(done, best_epoch=2), [epoch_line(1, 0.5), epoch_line(2, 0.9, val_acc=0.95)],
              config={"model": {"name": "small_cnn"}, "optim": {"lr": 0.001}, "run": {"name": "b"}})
    write_run(tmp_path, "c", {"state": "failed", "epoch": 0, "epochs": 2, "error": "boom"}, [],
              config={"model": {"name": "small_cnn"}, "optim": {"lr": 0.001}, "run": {"name": "c"}})
    (tmp_path / ".launches").mkdir()
    table = leaderboard.leaderboard(tmp_path)
    assert table["run"].tolist() == ["b", "a", "c"]
    assert table["best val F1"].tolist()[:2] == [0.9, 0.7]
    assert table["val accuracy"].tolist()[:2] == [0.95, 0.8]  # accuracy of the best epoch, not the last
    assert "optim.lr" in table.columns and "model.name" in table.columns
    assert "run.name" not in table.columns
    assert table.loc[2, "state"] == "failed"
    assert leaderboard.leaderboard(tmp_path / "nothing").empty


def test_key_settings_are_columns_with_short_headers(tmp_path):
    done = {"state": "finished", "epoch": 1, "epochs": 1, "model": "small_cnn"}
    for name, lr in (("a", 0.01), ("b", 0.001)):  # the same three-head setting in both: a key column all the same
        write_run(tmp_path, name, done, [epoch_line(1, lr * 10)],
                  config={"model": {"name": "small_cnn", "heads": "multi"}, "optim": {"lr": lr}, "train": {"epochs": 1}})
    table = leaderboard.leaderboard(tmp_path)
    assert table["model.heads"].tolist() == ["multi", "multi"]
    headers = leaderboard.leaderboard_headers(table)
    assert headers["model.heads"] == "heads" and headers["model.name"] == "model"
    # What the page leaves out: a repeat of model.name, the sort helper, and train.epochs ("epochs" has it).
    assert not {"model", "time (s)", "device", "train.epochs"} & set(headers)
    assert list(headers)[:2] == ["run", "state"]


def test_best_checkpoint_tables_and_confusion_cells(tmp_path):
    confusion = [[0] * 18 for _ in range(18)]
    confusion[0][0], confusion[0][3], confusion[5][2], confusion[5][5] = 7, 2, 4, 1
    run_dir = write_run(tmp_path, "r", {"state": "finished", "best_epoch": 1},
                        [epoch_line(1, 0.8, confusion=confusion), epoch_line(2, 0.5)])
    best = leaderboard.best_epoch_row(run_dir)
    assert best["epoch"] == 1
    classes = leaderboard.per_class_table(best)
    assert len(classes) == 18 and classes.loc[0, "support"] == 9 and classes.loc[5, "support"] == 5
    cells = leaderboard.error_cells(leaderboard.confusion_table(best))
    assert [(c.true, c.predicted, c.count) for c in cells.itertuples()] == [(5, 2, 4), (0, 3, 2)]
    import pandas as pd
    predictions = pd.DataFrame({"path": ["x.jpg", "y.jpg", "z.jpg"], "label": [5, 5, 0], "pred": [2, 5, 3]})
    assert leaderboard.cell_images(predictions, 5, 2)["path"].tolist() == ["x.jpg"]


def test_class_distribution_shares():
    table = leaderboard.class_distribution([0, 0, 1, 17], "submission")
    assert len(table) == 18 and table.loc[0, "share"] == 0.5 and table.loc[17, "count"] == 1
    assert table["share"].sum() == pytest.approx(1.0)
