"""The CLI's side of the API: send a command to the dashboard that holds the store, print what it printed.

``forward`` posts the command line to ``POST /api/cli`` with the endpoint file's local token, uploads every
file the command reads, writes every file the command wrote where the caller asked, prints the command's
stdout and stderr and returns its exit status: to the caller it is the CLI on the file.

What the CLI reads from its own environment is settled here, so that the dashboard's environment does not
stand in for it: the acting person (``--actor``, else ``$LABELWATCH_USER``, else the login name) with
the role from the caller's roles file (``$LABELWATCH_ROLES``), and the files and bounds named by
``$LABELWATCH_RULES``, ``$LABELWATCH_ALERTS``, ``$LABELWATCH_EARLIEST`` and ``$LABELWATCH_LATEST``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from analytics.api.commands import INPUTS, command_of
from analytics.api.endpoint import Endpoint
from analytics.remediation.roles import local_actor, role_book

__all__ = ["forward"]

ROUTE = "/api/cli"
#: Options the CLI would fill from the environment: (commands, destination, option, variable).
_FROM_ENVIRONMENT = (
    (("ingest", "score"), "rules", "--rules", "LABELWATCH_RULES"),
    (("check",), "config", "--config", "LABELWATCH_ALERTS"),
    (("ingest",), "earliest", "--earliest", "LABELWATCH_EARLIEST"),
    (("ingest",), "latest", "--latest", "LABELWATCH_LATEST"),
)


def forward(endpoint: Endpoint, argv: list[str], args: argparse.Namespace) -> int:
    """Run the parsed command ``args`` (from ``argv``) through the dashboard at ``endpoint``.

    Returns
    -------
    int
        The command's exit status; 2 when the dashboard could not be reached or refused the token, 1 when
        it refused the request (too large, not allowed) or a file could not be written here.
    """
    argv = list(argv) + _environment_options(args)
    try:
        book = role_book()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    actor = book.actor(args.actor) if getattr(args, "actor", None) else local_actor(book)
    files: dict[str, Path] = {}
    parsed = _reparse(argv)
    for dest in INPUTS.get(command_of(parsed), ()):
        values = getattr(parsed, dest, None)
        for value in values if isinstance(values, list) else [values]:
            if value is not None and Path(value).is_file():
                files[str(value)] = Path(value)
    parts = {f"file{i}": path for i, path in enumerate(files.values())}
    fields = {"argv": json.dumps(argv), "actor": actor.name, "role": str(actor.role),
              "files": json.dumps(dict(zip(parts, files, strict=True)))}
    body, content_type = _multipart(fields, parts)
    request = urllib.request.Request(
        endpoint.url + ROUTE, data=body, method="POST",
        headers={"Authorization": f"Bearer {endpoint.token}", "Content-Type": content_type})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=None) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        message = _error_text(exc)
        print(f"error: the dashboard at {endpoint.url} refused the command ({exc.code}): {message}",
              file=sys.stderr)
        return 2 if exc.code in (401, 500, 503) else 1
    except (OSError, ValueError) as exc:
        print(f"error: the dashboard at {endpoint.url}, which holds the store {endpoint.store}, did not "
              f"answer: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(answer.get("stdout", ""))
    sys.stderr.write(answer.get("stderr", ""))
    status = int(answer.get("exit_status", 2))
    for text, encoded in answer.get("outputs", {}).items():
        try:
            Path(text).write_bytes(base64.b64decode(encoded))
        except OSError as exc:
            print(f"error: cannot write {text}: {exc}", file=sys.stderr)
            status = status or 1
    return status


def _environment_options(args: argparse.Namespace) -> list[str]:
    extra = []
    for commands, dest, option, variable in _FROM_ENVIRONMENT:
        value = os.environ.get(variable, "").strip()
        if args.command in commands and getattr(args, dest, None) is None and value:
            extra += [option, value]
    return extra


def _reparse(argv: list[str]) -> argparse.Namespace:
    from analytics.__main__ import build_parser

    return build_parser().parse_args(argv)


def _multipart(fields: dict[str, str], files: dict[str, Path]) -> tuple[bytes, str]:
    """A multipart/form-data body: the text fields, then each file under its part name (``file0``, …);
    the ``files`` field maps part names to the paths as the caller wrote them."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                     + value.encode() + b"\r\n")
    for name, path in files.items():
        header = (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="upload"\r\n'
                  "Content-Type: application/octet-stream\r\n\r\n")
        parts.append(header.encode() + path.read_bytes() + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _error_text(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read()).get("error", error.reason))
    except (OSError, ValueError, AttributeError):
        return str(error.reason)
