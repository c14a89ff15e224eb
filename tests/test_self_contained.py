"""A clone of the repository explains and runs itself: no tracked text file refers to a file outside it, or to
an issue tracker's numbers in place of the reason or target itself."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Built from parts so that this file does not match itself.
OUTSIDE = re.compile("|".join([
    re.escape(".." + "/shared"), re.escape("DESIGN" + ".md"), r"(?<![\w.])/" + "work/",
    r"\b[Ii]" + "ssue" + r"s? \d+\b",
]))
TEXT_SUFFIXES = {".py", ".md", ".toml", ".txt", ".cfg", ".ini", ".yaml", ".yml", ".sh", ""}


def references_outside(text: str) -> list[str]:
    """Every reference in ``text`` to a file outside the repository (the matched text)."""
    return [m.group(0) for m in OUTSIDE.finditer(text)]


def _tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    names = listed.stdout.split()
    paths = [ROOT / n for n in names if not n.startswith("tests/data/")]
    return [p for p in paths if p.is_file() and p.suffix in TEXT_SUFFIXES]


def test_the_checker_finds_each_kind_of_outside_reference() -> None:
    planted = "see ../" + "shared/DESIGN" + ".md §3, data in /" + "work/shared/data; target of Issue" + " 3"
    assert len(references_outside(planted)) == 4
    assert references_outside("docs/ARCHITECTURE.md and tests/data/real; cleanlab's label issues") == []


def test_no_tracked_file_refers_outside_the_repository() -> None:
    files = _tracked_text_files()
    assert any(p.name == "README.md" for p in files) and any(p.name == "Makefile" for p in files)
    offenders = {}
    for path in files:
        found = references_outside(path.read_text("utf-8", errors="replace"))
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}
