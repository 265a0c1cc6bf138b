"""What ``backend serve`` and ``queue serve`` share: where the data lives (``--db`` or the environment) and
running the app in one process or in ``--workers N`` of uvicorn's.

``--db`` takes a SQLite path or a ``postgresql://`` URL, else the server's variable (``BACKEND_DATABASE_URL``,
``QUEUE_DATABASE_URL``), else the default file; ``contracts.sqldb.open_database`` refuses anything it cannot use
in one line (before this, ``--db postgresql://host/db`` made a directory named ``postgresql:`` and ran on a new,
empty SQLite file).

Several workers are uvicorn's supervisor: it binds the port once, starts N processes that each build the app (each
opens its own connection pool: connections must not cross a fork) and starts a new one when one dies. A worker
rebuilds the app from the parsed command line, handed to it through the environment (the worker is a fresh
interpreter). They share nothing but the database, so several workers need PostgreSQL: a server on SQLite keeps
its display board and limits in one process's memory and is refused more than one.
"""

from __future__ import annotations

import argparse
import base64
import importlib
import os
import pickle
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from contracts.sqldb import DatabaseTargetError, is_url

WORKER_ENV = "KIOSK_SERVE_WORKER"  # set by the supervisor for its workers: what to build and from which arguments


def database_target(args: argparse.Namespace, env: str, default: Path) -> tuple[str | Path, bool]:
    """(the database to open, whether it is the built-in default location, which may be created)."""
    given = args.db or os.environ.get(env, "").strip()
    if not given:
        return default, True
    return (given if is_url(given) else Path(given)), False


def check_workers(workers: int, target: str | Path) -> None:
    """:raises DatabaseTargetError: several workers on a SQLite file."""
    if workers < 1:
        raise DatabaseTargetError(f"--workers {workers}: give at least 1")
    if workers > 1 and not is_url(target):
        raise DatabaseTargetError(f"--workers {workers}: several processes need a postgresql:// database; "
                                  "a SQLite file is served by one process")


def run(build: str, args: argparse.Namespace, **options: Any) -> None:
    """Serve the app ``build(args)`` builds (``build`` as ``module:function``) on ``args.host``/``args.port`` in
    ``args.workers`` processes; ``options`` go to uvicorn (TLS files)."""
    common = dict(host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=2, **options)
    if args.workers == 1:
        uvicorn.run(_load(build)(args), **common)
        return
    os.environ[WORKER_ENV] = base64.b64encode(pickle.dumps((build, args))).decode()
    config = uvicorn.Config("kiosk.cli.serving:worker_app", factory=True, workers=args.workers, **common)
    Multiprocess(config, sockets=[_tcp_socket(config.bind_socket())]).run()  # what uvicorn.run does, but ↓


def _tcp_socket(sock: socket.socket) -> socket.socket:
    """The listening socket with its protocol named. uvicorn binds it with ``proto=0`` and asyncio sets
    ``TCP_NODELAY`` on accepted connections only when ``proto`` is ``IPPROTO_TCP``, so with workers every answer on
    a keep-alive connection after the first waited for the client's delayed ACK: 44 ms instead of 0.7 ms a request
    (uvicorn issue #3149, still in 0.54; measured by bench/city_load.py)."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto != 0:
        return sock
    named = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    named.set_inheritable(True)  # the workers are spawned processes: they inherit it
    return named


def worker_app() -> Any:
    """A worker's app: the supervisor's ``build(args)`` (uvicorn calls this in each worker process)."""
    build, args = pickle.loads(base64.b64decode(os.environ[WORKER_ENV]))  # written by this program's own parent
    return _load(build)(args)


def _load(build: str) -> Callable[[argparse.Namespace], Any]:
    module, name = build.split(":")
    return getattr(importlib.import_module(module), name)

