"""Every public function and method of the app and the engine says what it takes and returns.

Public: a module-level function, or a method of a module-level class, whose name (and class name) does not
start with an underscore. ``self``/``cls`` and ``*args``/``**kwargs`` named ``_`` are exempt; dunder methods
other than ``__init__`` are exempt (their types are the language's). Benchmarks and tests are scripts.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("analytics", "charts", "ui", "pages")


def missing_hints(source: str) -> list[str]:
    """``name: what is missing`` for each public function or method of ``source`` lacking a type hint."""
    found = []

    def check(func: ast.FunctionDef | ast.AsyncFunctionDef, owner: str) -> None:
        if func.name.startswith("_") and func.name != "__init__":
            return
        args = func.args
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        if owner and params and params[0].arg in ("self", "cls"):
            params = params[1:]
        params += [a for a in (args.vararg, args.kwarg) if a is not None and a.arg != "_"]
        untyped = [p.arg for p in params if p.annotation is None]
        name = f"{owner}.{func.name}" if owner else func.name
        if untyped:
            found.append(f"{name}: parameters {', '.join(untyped)}")
        if func.returns is None and func.name != "__init__":
            found.append(f"{name}: return")

    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            check(node, "")
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    check(item, node.name)
    return found


def test_the_checker_names_each_missing_hint():
    source = ("def f(a, b: int, *args, **kw) -> int: ...\n"
              "def g(a: int): ...\n"
              "def _private(a): ...\n"
              "class C:\n    def m(self, x) -> None: ...\n    def __init__(self, y): ...\n"
              "class _Hidden:\n    def m(self, x): ...\n")
    assert missing_hints(source) == ["f: parameters a, args, kw", "g: return", "C.m: parameters x",
                                     "C.__init__: parameters y"]


def test_every_public_function_has_type_hints():
    offenders = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            missing = missing_hints(path.read_text("utf-8"))
            if missing:
                offenders[str(path.relative_to(ROOT))] = missing
    assert offenders == {}
