"""Shared fixtures: real generated JPEG datasets, and caches kept out of the user's home."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

# Set before any test imports core, and inherited by CLI subprocesses and DataLoader workers.
os.environ["MASKLAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="masklab-cache-")

from core.data.demo import generate_demo_dataset  # noqa: E402
from tests.quirks import make_quirky_dataset  # noqa: E402


@pytest.fixture(scope="session")
def demo_data_dir(tmp_path_factory) -> Path:
    """12 people (84 images) + 4 eval people (28 images) of demo data. Read-only: copy to mutate."""
    out = tmp_path_factory.mktemp("demo") / "data"
    generate_demo_dataset(out, people=12, eval_people=4, seed=0)
    return out


@pytest.fixture
def demo_copy(demo_data_dir, tmp_path) -> Path:
    """A private, writable copy of the demo dataset."""
    return Path(shutil.copytree(demo_data_dir, tmp_path / "data"))


@pytest.fixture
def quirky_data_dir(demo_data_dir, tmp_path) -> Path:
    """The demo dataset with the real set's quirks; see tests/quirks.py for the list."""
    return make_quirky_dataset(demo_data_dir, tmp_path / "quirky")
