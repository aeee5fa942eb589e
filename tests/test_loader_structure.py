"""The loader's module structure: no import circle, one core count, one set of ImageNet constants."""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str, prefix=()) -> str:
    done = subprocess.run([*prefix, sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def loader_imports() -> dict[str, set[str]]:
    """core.loader module -> the core.loader modules it imports, at the top or inside a function."""
    graph = {}
    for path in (REPO_ROOT / "core" / "loader").glob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        graph[f"core.loader.{path.stem}"] = {name for name in names if name.startswith("core.loader.")}
    return graph


def test_no_import_circle_inside_the_loader_package():
    graph, done, path = loader_imports(), set(), []

    def visit(module):
        assert module not in path, f"import circle: {' -> '.join(path[path.index(module):] + [module])}"
        if module in done or module not in graph:
            return
        path.append(module)
        for imported in sorted(graph[module]):
            visit(imported)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    assert "core.loader.draft" in graph["core.loader.cache"]  # the graph is read, not empty


@pytest.mark.skipif(shutil.which("taskset") is None or not hasattr(os, "sched_getaffinity"),
                    reason="needs taskset and CPU affinity (Linux)")
def test_available_cores_is_the_affinity_share_not_the_hosts_count():
    # Pinned to one core, the process may use one, whatever os.cpu_count() says about the host.
    code = "from core.machine import available_cores; import core.loader as l; print(available_cores(), l.available_cores())"
    assert run_python(code, prefix=("taskset", "-c", "0")) == "1 1"


def test_workers_above_the_affinity_share_are_refused_naming_the_setting():
    code = ("from core.errors import ConfigError\nfrom core.loader import LoaderConfig, validate_loader_config\n"
            "try:\n    validate_loader_config(LoaderConfig(num_workers=2), 100)\nexcept ConfigError as e:\n    print(e)")
    if shutil.which("taskset") is None:
        pytest.skip("needs taskset")
    assert run_python(code, prefix=("taskset", "-c", "0")).startswith("loader.num_workers: 2 workers is more than the 1")


def test_imagenet_constants_are_declared_once_and_shared():
    from core.loader import IMAGENET_MEAN, IMAGENET_STD
    from core.loader.bench import default_pipeline
    from core.train import inputs

    assert inputs.IMAGENET_MEAN is IMAGENET_MEAN and inputs.IMAGENET_STD is IMAGENET_STD  # imported, not copied
    normalize = default_pipeline().transforms[-1]
    assert tuple(normalize.mean) == IMAGENET_MEAN and tuple(normalize.std) == IMAGENET_STD
