"""``dossier status CODE``: a dossier look-up through the kiosk's backend client (embedded or remote)."""

from __future__ import annotations

import argparse
import json
import sys

from devices.payloads import parse_payload
from kiosk.backend_client import BackendUnavailable, NotFound
from kiosk.cli import config_from_args
from kiosk.cli.embedded import open_backend

EXIT_NOT_FOUND = 1
EXIT_UNAVAILABLE = 3


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
