"""The layers are enforced (issue #13): import-linter keeps the contracts of .importlinter on the
real tree, and reports an upward import or a peek into another app's private module — so the
enforcement itself is tested, not only the tree."""

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ["core", "inventory", "sales", "finance", "integrations", "ops"]
PUBLIC = {"services", "selectors", "events", "dto", "ports"}
LINT = [str(Path(sys.executable).with_name("lint-imports")), "--no-logo", "--no-cache"]
pytestmark = pytest.mark.skipif(not Path(LINT[0]).exists(), reason="import-linter is not installed (make install)")


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([*LINT, str(cwd / ".importlinter")], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def _contracts() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    return config


def test_the_real_tree_keeps_every_contract():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout and "0 broken" in result.stdout


def test_the_layers_are_the_documented_ones():
    layers = _contracts()["importlinter:contract:layers"]["layers"].split()
    assert layers == ["ops", "integrations", "finance", "sales", "inventory", "core"]


@pytest.mark.parametrize("app", APPS[1:-1])  # core is the platform; nothing sits above ops
def test_every_private_module_of_an_app_is_forbidden_to_the_apps_above(app):
    section = _contracts()[f"importlinter:contract:{app}-public"]
    forbidden = set(section["forbidden_modules"].split())
    modules = {p.stem if p.is_file() else p.name for p in (ROOT / app).iterdir()
               if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())}
    assert {f"{app}.{m}" for m in modules - PUBLIC} <= forbidden, "list the new module in .importlinter"
    assert set(section["source_modules"].split()) == set(APPS[APPS.index(app) + 1:])


@pytest.fixture
def tree(tmp_path):
    """A copy of the apps' sources and the contracts, to break."""
    for app in APPS:
        shutil.copytree(ROOT / app, tmp_path / app, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def test_an_upward_import_breaks_the_layers_contract(tree):
    (tree / "inventory" / "upward.py").write_text("from ops import selectors  # noqa\n")
    result = _lint(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Layers: core <- inventory" in result.stdout and "BROKEN" in result.stdout
    assert "inventory.upward -> ops.selectors" in result.stdout


def test_reading_another_app_s_models_breaks_its_public_interface_contract(tree):
    (tree / "finance" / "peek.py").write_text("from sales.models import Customer  # noqa\n")
    result = _lint(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Other apps import sales only through services, selectors, events, dto, ports BROKEN" in " ".join(
        result.stdout.split())
    assert "finance.peek -> sales.models" in result.stdout
