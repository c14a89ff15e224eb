"""The HTTP API beside the dashboard (Starlette routes of ``app.py``'s ``st.App``, on the app's own port).

The dashboard holds its store for writing (DuckDB allows one such process), so every other client reaches
the store through here, and every write still happens in this one process, on the dashboard's cached
``Store`` (``ui.store``):

- ``GET /api/health`` (no token): the store file this dashboard holds, its schema version, the app's
  version and the process id; 503 when the store cannot be opened.
- ``GET /api/summary``: exactly the object ``summary --json`` prints. It is computed once per state of
  the store (``Store.state``) and of its alerts file: calls that arrive while it is being computed wait
  for that computation, and later calls get it until a write or an alerts edit changes either.
- ``GET /api/check[?strict=true]``: the alerts as ``check --json`` prints them; its ``exit_status`` (also in
  the ``X-LabelWatch-Exit-Status`` header) is the one ``check`` would exit with.
- ``POST /api/ingest?kind=…&name=FILE[&dataset=…&model_version=…&question=…&map=COLUMN=NAME&earliest=…
  &latest=…&dry_run=true]``: the file is the request body (``kind=labelbox&question=…``: a Labelbox export and
  the question whose answers are the labels); answers what ``ingest --json`` prints (each file's
  validation report with its rejects) and ``exit_status``: 200 imported, 422 refused.
- ``POST /api/cli``: any CLI command (``analytics.api.commands``): multipart fields ``argv`` (a JSON list),
  ``files`` (JSON: part name → the path as written in argv) and those parts; answers ``exit_status``,
  ``stdout``, ``stderr`` and ``outputs`` (path → base64 of each file the command wrote). The CLI sends its
  commands here when this dashboard holds the store (``analytics.api.client``).

Every route but health needs ``Authorization: Bearer TOKEN`` (401 without it or with a wrong one): a
person's token from ``[api.tokens]`` in ``.streamlit/secrets.toml`` (name or e-mail = token) acts as that
person with the role the roles file gives them (``analytics.remediation.roles``; 403 when it may not do
it), or the local token of the endpoint file, which acts as the caller says, as the CLI on the file would.
Request bodies are limited to ``server.maxUploadSize`` MB (413). Writes take one lock, so an API write runs
as if it were the only writer (the engine's transactions serialise with the pages' writes); reads run at
once, each query on its own cursor.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import dataclasses
import functools
import hmac
import importlib.metadata
import json
import os
import shutil
import tempfile
import threading
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from streamlit import config
from streamlit.logger import get_logger

from analytics.api import commands
from analytics.monitoring import alerts
from analytics.remediation.roles import Actor, PermissionDenied, Role, require, role_book
from analytics.store import Store, StoreError
from ui import serving
from ui import store as app_store

_LOGGER = get_logger(__name__)
ROOT = Path(__file__).resolve().parents[1]
EXIT_HEADER = "X-LabelWatch-Exit-Status"
#: Text fields of a multipart request (argv, the file names) stay small.
_MAX_FIELD_BYTES = 1024 * 1024
# One API write at a time: a command through the API runs as the CLI did on the file, alone.
_writes = threading.Lock()


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who called: a person (``actor``, from their token) or a local process (``local``, its own word)."""

    actor: Actor | None
    local: bool


class Refused(Exception):
    """A request answered with an error status and a JSON ``{"error": …}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse({"error": str(self)}, status_code=self.status, headers=headers)


@functools.cache
def app_version() -> str:
    """LabelWatch's version: the installed package's, else ``pyproject.toml``'s (a checkout)."""
    try:
        return importlib.metadata.version("labelwatch")
    except importlib.metadata.PackageNotFoundError:
        with (ROOT / "pyproject.toml").open("rb") as fh:
            return str(tomllib.load(fh)["project"]["version"])


def person_tokens() -> dict[str, str]:
    """``[api.tokens]`` of the secrets: a person's name or e-mail → their token (empty tokens left out)."""
    if not st.secrets.load_if_toml_exists():
        return {}
    table = st.secrets.get("api", {}).get("tokens", {})
    return {str(name): str(token) for name, token in dict(table).items() if str(token).strip()}


def authenticate(request: Request) -> Caller:
    """The caller of ``request`` from its bearer token; ``Refused(401)`` without one or with a wrong one.

    Every known token is compared in constant time (``hmac.compare_digest``), each one every time.
    """
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Refused(401, "This call needs an API token: Authorization: Bearer TOKEN.")
    given = token.encode()
    local = hmac.compare_digest(given, serving.LOCAL_TOKEN.encode())
    person = None
    for name, known in person_tokens().items():
        if hmac.compare_digest(given, known.encode()):
            person = name
    if local:
        return Caller(None, True)
    if person is None:
        raise Refused(401, "Unknown API token.")
    try:
        return Caller(role_book().actor(person), False)
    except ValueError as exc:
        raise Refused(500, str(exc)) from None


def max_body_bytes() -> int:
    """The largest request body: ``server.maxUploadSize`` (MB), as for the app's own uploads."""
    return int(config.get_option("server.maxUploadSize")) * 1024 * 1024


def _limited(request: Request) -> Request:
    """``request`` whose body stops with ``Refused(413)`` past ``max_body_bytes``, whatever its
    Content-Length says (a chunked or lying client is cut off while streaming)."""
    limit = max_body_bytes()
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise Refused(413, f"The request body is larger than server.maxUploadSize ({limit // 2**20} MB).")
    received = 0
    receive = request.receive

    async def limited_receive() -> dict:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise Refused(413, f"The request body is larger than server.maxUploadSize ({limit // 2**20} MB).")
        return message

    return Request(request.scope, limited_receive)


async def _save(upload: UploadFile | Any, target: Path) -> None:
    if not isinstance(upload, UploadFile):
        raise Refused(400, "A file part is missing or not a file.")
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        while chunk := await upload.read(1 << 20):
            out.write(chunk)


async def _run(caller: Caller, argv: list[str], uploads: dict[str, Path], workdir: Path,
               said: Actor | None = None, share: _Shared | None = None) -> commands.Result:
    """Parse, authorise and run one CLI command line on the dashboard's store; a read given ``share`` runs
    once per ``summary_key`` of the store, its result shared."""
    try:
        invocation = commands.parse(argv, uploads, workdir)
    except commands.UsageError as exc:
        return commands.Result(exc.status, "", exc.message, {})
    args = invocation.args
    if caller.local:
        actor = said
    else:
        actor = caller.actor
        needed = commands.required_role(args)
        if needed is None:
            raise Refused(403, f"`{args.command}` is not run through the API.")
        if getattr(args, "actor", None) and args.actor.strip().lower() != actor.name.lower():
            raise Refused(403, f"The token of {actor.name} may not act as {args.actor}.")
        try:
            require(actor, needed, f"run `{' '.join(filter(None, commands.command_of(args)))}`")
        except PermissionDenied as exc:
            raise Refused(403, str(exc)) from None

    def work() -> commands.Result:
        try:
            store = app_store.current()
        except StoreError as exc:
            return commands.Result(2, "", f"error: {exc}\n", {})
        if share is not None:
            return share.get(summary_key(store), lambda: commands.execute(store, invocation, actor))
        with _writes if commands.writes(args) else contextlib.nullcontext():
            return commands.execute(store, invocation, actor)

    return await run_in_threadpool(work)


def _workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="labelwatch-api-"))


async def _answer(request: Request, handle: Any) -> Response:
    workdir = _workdir()
    try:
        return await handle(request, authenticate(request), workdir)
    except Refused as exc:
        return exc.response()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def health(request: Request) -> JSONResponse:
    """``GET /api/health``: which store this dashboard holds; no token needed."""
    path = str(Path(app_store.db_path()).resolve())
    base = {"app": "labelwatch", "app_version": app_version(), "pid": os.getpid(), "store": path}
    try:
        store = await run_in_threadpool(app_store.current)
        schema = await run_in_threadpool(store.schema_version)
    except StoreError as exc:
        return JSONResponse({**base, "status": "unavailable", "error": str(exc)}, status_code=503)
    return JSONResponse({**base, "status": "ok", "store": str(Path(store.path).resolve()),
                         "schema_version": schema})


class _Shared:
    """One result per key, computed once: callers of a key being computed wait for it; only the latest
    key's result is kept, and a failed computation is not kept."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._results: dict[object, concurrent.futures.Future] = {}

    def get(self, key: object, compute: Any) -> commands.Result:
        with self._guard:
            future = self._results.get(key)
            mine = future is None
            if mine:
                self._results.clear()
                future = self._results[key] = concurrent.futures.Future()
        if mine:
            try:
                result = compute()
            except BaseException as exc:
                future.set_exception(exc)
                self._forget(key)
                raise
            future.set_result(result)
            if result.exit_status != 0:
                self._forget(key)
        return future.result()

    def _forget(self, key: object) -> None:
        with self._guard:
            self._results.pop(key, None)


_summaries = _Shared()


def summary_key(store: Store) -> tuple:
    """What ``summary --json`` depends on: the store's file and state, and its alerts file's text."""
    try:
        source, text = alerts.alert_source(store.path)
    except alerts.AlertConfigError as exc:
        source, text = None, str(exc)
    return store.path, store.state(), source, text


async def _summary(request: Request, caller: Caller, workdir: Path) -> Response:
    result = await _run(caller, ["summary", "--json"], {}, workdir, share=_summaries)
    if result.exit_status != 0:
        return JSONResponse({"error": result.stderr.strip(), "exit_status": result.exit_status},
                            status_code=500)
    return Response(result.stdout, media_type="application/json")


async def summary(request: Request) -> Response:
    """``GET /api/summary``: the ``summary --json`` object."""
    return await _answer(request, _summary)


async def _check(request: Request, caller: Caller, workdir: Path) -> Response:
    strict = request.query_params.get("strict", "").lower() in ("1", "true", "yes")
    result = await _run(caller, ["check", "--json", *(["--strict"] if strict else [])], {}, workdir)
    headers = {EXIT_HEADER: str(result.exit_status)}
    if result.exit_status not in (0, 1):
        return JSONResponse({"error": result.stderr.strip(), "exit_status": result.exit_status},
                            status_code=500, headers=headers)
    return Response(result.stdout, media_type="application/json", headers=headers)


async def check(request: Request) -> Response:
    """``GET /api/check``: the alerts as ``check --json`` prints them, with its exit status."""
    return await _answer(request, _check)


async def _ingest(request: Request, caller: Caller, workdir: Path) -> Response:
    query = request.query_params
    name = query.get("name") or "upload.csv"
    argv = ["ingest", "--json", "--kind", query.get("kind") or "events"]
    for option in ("dataset", "model_version", "question", "earliest", "latest"):
        if query.get(option):
            argv += ["--" + option.replace("_", "-"), query[option]]
    for mapping in query.getlist("map"):
        argv += ["--map", mapping]
    if query.get("dry_run", "").lower() in ("1", "true", "yes"):
        argv.append("--dry-run")
    argv += ["--", name]  # a name is never read as an option
    upload = workdir / "upload" / (Path(name).name or "upload.csv")
    upload.parent.mkdir()
    with upload.open("wb") as out:
        async for chunk in _limited(request).stream():
            out.write(chunk)
    result = await _run(caller, argv, {str(Path(name)): upload}, workdir)
    headers = {EXIT_HEADER: str(result.exit_status)}
    try:
        body = json.loads(result.stdout)
    except ValueError:
        return JSONResponse({"error": result.stderr.strip(), "exit_status": result.exit_status},
                            status_code=400 if result.exit_status == 2 else 500, headers=headers)
    status = {0: 200, 1: 422}.get(result.exit_status, 500)
    return JSONResponse({**body, "exit_status": result.exit_status, "stderr": result.stderr},
                        status_code=status, headers=headers)


async def ingest(request: Request) -> Response:
    """``POST /api/ingest``: import the request body as one file."""
    return await _answer(request, _ingest)


async def _cli(request: Request, caller: Caller, workdir: Path) -> Response:
    limited = _limited(request)
    async with limited.form(max_files=1000, max_fields=1000, max_part_size=_MAX_FIELD_BYTES) as form:
        try:
            argv = json.loads(str(form.get("argv", "")))
            names = json.loads(str(form.get("files") or "{}"))
            if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
                raise ValueError("argv must be a JSON list of strings")
            said = None
            if caller.local:
                said = Actor(str(form.get("actor", "")), Role.parse(str(form.get("role", ""))))
        except ValueError as exc:
            raise Refused(400, f"Bad request: {exc}") from None
        uploads = {}
        for number, (part, text) in enumerate(dict(names).items()):
            target = workdir / f"upload{number}" / (Path(str(text)).name or "file")
            await _save(form.get(str(part)), target)
            uploads[str(text)] = target
    result = await _run(caller, argv, uploads, workdir, said)
    outputs = {text: base64.b64encode(data).decode() for text, data in result.outputs.items()}
    return JSONResponse({"exit_status": result.exit_status, "stdout": result.stdout, "stderr": result.stderr,
                         "outputs": outputs})


async def cli(request: Request) -> Response:
    """``POST /api/cli``: run one CLI command on the dashboard's store."""
    return await _answer(request, _cli)


ROUTES = [
    Route("/api/health", health, methods=["GET"]),
    Route("/api/summary", summary, methods=["GET"]),
    Route("/api/check", check, methods=["GET"]),
    Route("/api/ingest", ingest, methods=["POST"]),
    Route("/api/cli", cli, methods=["POST"]),
]


@contextlib.asynccontextmanager
async def lifespan(_app: object) -> AsyncIterator[None]:
    """The server listens: open the store at once (this dashboard is its writer from now on, and says so
    in the endpoint file); on a clean shutdown remove the endpoint file."""
    serving.started()
    try:
        await run_in_threadpool(app_store.current)
    except StoreError as exc:
        # e.g. a CLI holds it right now: the pages say so and try again on the next run
        _LOGGER.warning("LabelWatch could not open its store yet: %s", exc)
    try:
        yield
    finally:
        serving.stopping()
