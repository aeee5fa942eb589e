"""Curves and overlays read from run files into altair charts."""
from __future__ import annotations

import pytest

from core.train import charts
from tests.run_files import epoch_line, step_line, write_run


def test_curves_table_has_both_splits_of_each_metric(tmp_path):
    lines = [step_line(1, 10, elapsed=8.0), epoch_line(1, 0.4, epoch_s=10.0), step_line(2, 5, elapsed=15.0)]
    run_dir = write_run(tmp_path, "live", {"state": "running", "epoch": 1, "epochs": 4}, lines, partial=True)
    table = charts.curves(run_dir)
    assert set(table["metric"]) == {"loss", "accuracy", "macro F1"}
    assert set(table["split"]) == {"train", "val"}
    val_f1 = table[(table["metric"] == "macro F1") & (table["split"] == "val")]
    assert val_f1["value"].tolist() == [0.4]
    chart = charts.curves_chart(table, "macro F1").to_dict()
    assert chart["mark"]["type"] == "line" and chart["encoding"]["x"]["field"] == "epoch"
    assert chart["encoding"]["x"]["axis"]["format"] == "d"  # whole epochs: one epoch read "1.000000" in a browser
    losses = charts.step_losses(run_dir)
    assert losses["epoch"].tolist() == pytest.approx([1.0, 1.5])


def test_overlay_of_two_runs(tmp_path):
    done = {"state": "finished", "epoch": 2, "epochs": 2}
    a = write_run(tmp_path, "a", done, [epoch_line(1, 0.1), epoch_line(2, 0.2)])
    b = write_run(tmp_path, "b", done, [epoch_line(1, 0.3)])
    table = charts.overlay([a, b])
    assert set(table["run"]) == {"a", "b"}
    assert len(table[table["run"] == "a"]) == 2 * len(table[table["run"] == "b"])
    chart = charts.curves_chart(table, "loss", by_run=True).to_dict()
    assert chart["encoding"]["color"]["field"] == "run"
