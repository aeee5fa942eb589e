"""A run whose train and val pipelines make different sizes is refused before anything is written (issue #16.3):
the CLI once trained 256x192 and validated 96x72 without a word."""
from __future__ import annotations

import subprocess

from core.config import check_config, load_config
from core.errors import ConfigError
from tests.test_train_support import PYTHON, REPO, subprocess_env, tiny_config


def test_the_cli_refuses_train_and_val_sizes_that_differ_naming_both_keys(demo_data_dir, tmp_path):
    done = subprocess.run([PYTHON, "-m", "core", "train", "--config", str(REPO / "configs" / "demo.yaml"),
                           "--set", f"data.dir={demo_data_dir}", "--set", f"run.root={tmp_path / 'runs'}",
                           "--set", "run.name=mismatch", "--set", "augment.train=baseline"],
                          cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert "augment.train / augment.val" in line and "256 high x 192 wide" in line and "96 high x 72 wide" in line
    assert not (tmp_path / "runs" / "mismatch").exists()


def test_matching_sizes_pass_and_the_built_in_val_follows_data_image_size(demo_data_dir, tmp_path):
    config = tiny_config(demo_data_dir, tmp_path / "runs", "augment.train=baseline", "data.image_size=[256, 192]")
    assert check_config(config).augment.train == "baseline"
    try:
        check_config(tiny_config(demo_data_dir, tmp_path / "runs", "augment.val=baseline"))
    except ConfigError as error:
        assert "48 high x 36 wide" in str(error) and "[48, 36]" in str(error)
    else:
        raise AssertionError("a 48x36 train pipeline with a 256x192 val pipeline was accepted")
