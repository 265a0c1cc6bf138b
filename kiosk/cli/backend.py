"""``backend serve`` (the reference backend) and ``dossier status CODE`` (a look-up through the kiosk's client)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from devices.payloads import parse_payload
from kiosk.backend_client import BackendUnavailable, NotFound
from kiosk.cli import EXIT_CONFIG, config_from_args
from kiosk.cli.embedded import open_backend

EXIT_NOT_FOUND = 1
EXIT_UNAVAILABLE = 3


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from backend.app import BackendSettings, create_app
    from backend.server import open_store
    from contracts.content.signing import KeyFileError, load_signing_key

    try:
        signing_key = load_signing_key(args.signing_key) if args.signing_key else None
    except KeyFileError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    store = open_store(Path(args.db))
    if args.kiosk_token:
        store.add_token("kiosk", "cli", args.kiosk_token)
    if args.admin_token:
        store.add_token("admin", None, args.admin_token)
    print(f"Reference backend on http://{args.host}:{args.port} (OpenAPI: /openapi.json), data: {args.db}",
          file=sys.stderr)
    settings = BackendSettings.beside(Path(args.db), signing_key=signing_key)
    uvicorn.run(create_app(store, settings), host=args.host, port=args.port, log_level="warning")
    return 0


def run_status(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    parsed = parse_payload(args.code)
    code = parsed.get("code") if parsed["kind"] == "dossier" else args.code.strip().upper()
    client, close = open_backend(config)
    try:
        status = client.dossier_status(code)
    except NotFound:
        print(json.dumps({"code": code, "found": False}, ensure_ascii=False) if args.json
              else f"Không tìm thấy hồ sơ {code}")
        return EXIT_NOT_FOUND
    except BackendUnavailable as exc:
        cached = client.cached_status(code)
        print(f"Backend unavailable ({exc})" + (", showing the last known status" if cached else ""), file=sys.stderr)
        if not cached:
            return EXIT_UNAVAILABLE
        status = {**cached[0], "cached_at": cached[1].isoformat()}
    finally:
        close()
    if args.json:
        print(json.dumps({**status, "found": True}, ensure_ascii=False))
    else:
        print(f"{status['code']}  {status['procedure_vi']}\n  trạng thái: {status['status']}  hẹn trả: "
              f"{status['due_date']}  người nộp: {status['applicant'] or '-'}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    backend = subparsers.add_parser("backend", help="the reference backend")
    actions = backend.add_subparsers(dest="backend_command", metavar="ACTION", required=True)
    serve = actions.add_parser("serve", help="serve the reference backend (OpenAPI at /openapi.json)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8600)
    serve.add_argument("--db", default="backend-data/backend.db", help="SQLite file (created and seeded)")
    serve.add_argument("--kiosk-token", help="accept this bearer token from kiosks (stored hashed)")
    serve.add_argument("--admin-token", help="accept this bearer token for admin endpoints (stored hashed)")
    serve.add_argument("--signing-key", type=Path, metavar="FILE",
                       help="content signing key (from `content keygen`) for publishing on the admin pages")
    serve.set_defaults(handler=run_serve)
    dossier = subparsers.add_parser("dossier", help="dossier look-ups")
    dossier_actions = dossier.add_subparsers(dest="dossier_command", metavar="ACTION", required=True)
    status = dossier_actions.add_parser("status", help="the status of a dossier by code (or a lookup URL)")
    status.add_argument("code", metavar="CODE")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=run_status)
