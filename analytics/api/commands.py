"""The dashboard's side of the CLI's API: run a command line in-process on the store the dashboard holds.

The caller sends the argv it was given, the files the command reads (keyed by the path as the caller wrote
it) and who it is. The command runs here exactly as ``python -m analytics`` would run it on the file: the
same parser, the same functions, the same stdout, stderr and exit status; only the paths differ, so

- a file the command reads is the uploaded copy, stored under its own name (its extension decides the
  format); an import records the caller's name for it;
- a file the command writes (``--out``) is written here, under the caller's file name (its extension
  decides the format when ``--format`` does not), and sent back, for the caller to write where it asked;
- every server path in the output is replaced by the caller's text, so the output reads as the caller's.

Output is captured per thread (``capture``), so requests served at once never mix their output.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from analytics.remediation.roles import Actor, Role
from analytics.store import Store

__all__ = ["INPUTS", "OUTPUTS", "Invocation", "Result", "capture", "execute", "parse", "required_role",
           "writes"]

#: (command, sub-command) → the argparse destinations that name files the command reads.
INPUTS: dict[tuple[str, str | None], tuple[str, ...]] = {
    ("ingest", None): ("files", "rules"), ("score", None): ("rules",), ("check", None): ("config",),
    ("policy", "run"): ("file",), ("campaign", "create"): ("items",), ("campaign", "import"): ("file",),
}
#: (command, sub-command) → the destinations that name files the command writes.
OUTPUTS: dict[tuple[str, str | None], tuple[str, ...]] = {
    ("versions", "export"): ("out",), ("campaign", "export"): ("out",), ("report", None): ("out",),
    ("suspects", "export"): ("out",), ("audit", None): ("out",),
}

#: What a person's token needs for each command; reads are a viewer's. ``None``: not through the API.
_ROLES: dict[tuple[str, str | None], Role | None] = {
    ("demo", None): None,
    ("ingest", None): Role.REVIEWER, ("score", None): Role.REVIEWER, ("impact", None): Role.REVIEWER,
    ("act", None): Role.REVIEWER, ("retract", None): Role.ADMIN, ("policy", "run"): Role.ADMIN,
    ("versions", "create"): Role.ADMIN, ("versions", "rollback"): Role.ADMIN,
    ("campaign", "create"): Role.ADMIN, ("campaign", "import"): Role.ADMIN,
    ("campaign", "resolve"): Role.ADMIN,
}


def command_of(args: argparse.Namespace) -> tuple[str, str | None]:
    """``(command, sub-command)`` of parsed arguments, e.g. ``("versions", "export")``."""
    sub = next((getattr(args, name) for name in ("policy_command", "versions_command", "campaign_command",
                                                 "suspects_command") if getattr(args, name, None)), None)
    return args.command, sub


def writes(args: argparse.Namespace) -> bool:
    """Whether the command writes to the store (a dry run does not)."""
    return required_role(args) is not Role.VIEWER


def required_role(args: argparse.Namespace) -> Role | None:
    """The role a person's token needs to run ``args`` through the API; None when no token may.

    Dry runs (``ingest --dry-run``, ``policy run --dry-run``) only read: a viewer's. The engine checks its
    own writes again (``analytics.remediation.roles``).
    """
    if getattr(args, "dry_run", False):
        return Role.VIEWER
    return _ROLES.get(command_of(args), Role.VIEWER)


class UsageError(Exception):
    """The command line does not parse: ``message`` is argparse's text, ``status`` its exit status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message, self.status = message, status


@dataclasses.dataclass
class Invocation:
    """A parsed command with its paths moved here: ``names`` maps each server path to the caller's text,
    ``outputs`` each file the caller wants written (its text) to where the command writes it here."""

    args: argparse.Namespace
    names: dict[str, str]
    outputs: dict[str, Path]


@dataclasses.dataclass(frozen=True)
class Result:
    """What the command printed and returned, and the files it wrote (caller's path text → bytes)."""

    exit_status: int
    stdout: str
    stderr: str
    outputs: dict[str, bytes]


def parse(argv: list[str], uploads: Mapping[str, Path], workdir: Path) -> Invocation:
    """Parse ``argv`` as the CLI does and point its file arguments here.

    Parameters
    ----------
    argv : list of str
        The command line as the caller gave it (``--db`` is ignored: the store is the dashboard's).
    uploads : mapping of str to Path
        The caller's path text of each file it sent → where the upload is stored here (under the same
        base name). A file argument without an upload gets a path here where nothing exists, so the command
        says "no such file" as it would have (under the caller's name).
    workdir : Path
        A fresh folder for this request's files.

    Raises
    ------
    UsageError
        argparse refused the command line.
    """
    from analytics.__main__ import build_parser

    err = io.StringIO()
    with capture(io.StringIO(), err):
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:
            raise UsageError(err.getvalue(), int(exc.code or 0)) from None
    names: dict[str, str] = {}
    outputs: dict[str, Path] = {}
    key = command_of(args)
    counter = iter(range(1_000_000))

    def here(value: Any, kind: str) -> Any:
        text = str(value)
        if kind == "in" and text in uploads:
            path = uploads[text]
        else:
            path = workdir / f"{kind}{next(counter)}" / (Path(text).name or "file")
            path.parent.mkdir(parents=True, exist_ok=True)
        names[str(path)] = text
        if kind == "out":
            outputs[text] = path
        return type(value)(path) if isinstance(value, Path) else str(path)

    for kind, table in (("in", INPUTS), ("out", OUTPUTS)):
        for dest in table.get(key, ()):
            value = getattr(args, dest, None)
            if isinstance(value, list):
                setattr(args, dest, [here(v, kind) for v in value])
            elif value is not None:
                setattr(args, dest, here(value, kind))
    args.source_names = names
    return Invocation(args, names, outputs)


def execute(store: Store, invocation: Invocation, actor: Actor | None) -> Result:
    """Run the command on ``store`` as ``actor`` (None: as the CLI would resolve it) and collect its output
    and the files it wrote; paths here read as the caller's in the output."""
    from analytics.__main__ import _Escaping, dispatch

    args = invocation.args
    args.as_actor = actor
    out, err = io.StringIO(), io.StringIO()
    with capture(_Escaping(out), _Escaping(err)):
        status = dispatch(store, args)
    written = {text: path.read_bytes() for text, path in invocation.outputs.items() if path.is_file()}
    return Result(status, _as_callers(out.getvalue(), invocation.names),
                  _as_callers(err.getvalue(), invocation.names), written)


def _as_callers(text: str, names: Mapping[str, str]) -> str:
    for here in sorted(names, key=len, reverse=True):
        text = text.replace(here, names[here])
    return text


class _PerThread:
    """Stands in for ``sys.stdout`` or ``sys.stderr``: a thread inside ``capture`` writes to its own
    buffer, every other thread (the server's own output) to the real stream."""

    def __init__(self, real: Any, which: str) -> None:
        self._real, self._which = real, which

    def _target(self) -> Any:
        return getattr(_captured, self._which, None) or self._real

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


_captured = threading.local()
_installing = threading.Lock()


@contextlib.contextmanager
def capture(stdout: Any, stderr: Any) -> Iterator[None]:
    """Send this thread's ``print`` output (to ``sys.stdout`` and ``sys.stderr``) to ``stdout`` and
    ``stderr`` until the block ends; other threads keep writing where they did."""
    with _installing:
        if not isinstance(sys.stdout, _PerThread):
            sys.stdout = _PerThread(sys.stdout, "stdout")
        if not isinstance(sys.stderr, _PerThread):
            sys.stderr = _PerThread(sys.stderr, "stderr")
    before = getattr(_captured, "stdout", None), getattr(_captured, "stderr", None)
    _captured.stdout, _captured.stderr = stdout, stderr
    try:
        yield
    finally:
        _captured.stdout, _captured.stderr = before
