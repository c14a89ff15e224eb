"""The package installs and its console command runs, from a wheel, outside the checkout.

The wheel is built without build isolation (setuptools and wheel come from the dev requirements) and
installed with ``--no-deps`` by the fresh virtual environment's own pip (from ``ensurepip``, offline); the
environment sees the test interpreter's site-packages through a ``.pth`` file, so the dependencies are the
pinned ones already installed and nothing is downloaded. The command runs from a temporary directory, so the
installed package is imported, not the checkout.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _engine_packages() -> set[str]:
    return {str(p.parent.relative_to(ROOT)) for p in (ROOT / "analytics").rglob("__init__.py")}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # setuptools writes build/ and *.egg-info beside the sources: build from a copy, never in the checkout.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    for package in ("analytics", "charts", "ui"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out)]
    subprocess.run([*build, str(source)], check=True, cwd=out)
    (built,) = out.glob("labelwatch-*.whl")
    return built


def test_the_wheel_holds_every_engine_package_and_the_console_command(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    packages = {str(Path(n).parent) for n in names if n.endswith("/__init__.py")}
    assert _engine_packages() <= packages, _engine_packages() - packages
    assert {"charts", "ui"} <= packages and "ui/icon.svg" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "labelwatch = analytics.__main__:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_labelwatch_help_runs_from_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    purelib = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True
    )
    (purelib / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    where = subprocess.run(
        [str(python), "-c", "import analytics; print(analytics.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(purelib)), where
    result = subprocess.run(
        [str(env_dir / "bin" / "labelwatch"), "--help"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    for name in ("demo", "ingest", "score", "summary", "batches", "retract"):
        assert name in result.stdout
