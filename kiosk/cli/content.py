"""``content keygen|build|apply|show|publish``: sign content bundles, apply one from a USB stick, publish one.

``content apply`` runs exactly the checks the sync thread runs; it prints what it applied (exit 0) or
``refused: <reason>`` (exit 1), and leaves the active content unchanged when it refuses.
"""

from __future__ import annotations

import argparse
import sys

import httpx
from pydantic import ValidationError

from contracts.content.bundle import DEFAULT_EXPIRES_DAYS, MANIFEST, BuildError, BundleRejected, build_bundle
from contracts.content.models import Manifest, Target
from contracts.content.signing import KeyFileError, generate_key_pair, load_signing_key
from kiosk.cli import config_from_args
from kiosk.content.apply import apply_bundle, content_store
from kiosk.content.store import StoreBusy

EXIT_REFUSED = 1
PUBLISH_TIMEOUT_S = 30.0


def run_keygen(args: argparse.Namespace) -> int:
    try:
        private_path, public = generate_key_pair(args.out)
    except (KeyFileError, OSError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_REFUSED
    print(f"private key: {private_path} (keep it off the kiosks)", file=sys.stderr)
    print(public)
    return 0


def _describe(manifest: Manifest) -> str:
    return f"content version {manifest.version} for {manifest.target}: {', '.join(sorted(manifest.files))}"


def run_build(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    try:
        target = Target.parse(args.target)
        key = load_signing_key(args.key)
        manifest = build_bundle(args.dir, key, version=args.version, target=target, out=args.out, config=config,
                                expires_days=DEFAULT_EXPIRES_DAYS if args.expires_days is None else args.expires_days)
    except (ValueError, KeyFileError, BuildError, OSError) as exc:
        print(f"cannot build: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"built {args.out}: {_describe(manifest)}")
    return 0


def run_apply(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    try:
        bundle = apply_bundle(args.bundle, config)
    except (BundleRejected, StoreBusy) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"applied {_describe(bundle.manifest)}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    store = content_store(config_from_args(args))
    version = store.current_version()
    if version is None:
        print("no content applied (the kiosk uses its local config)")
        return 0
    try:
        manifest = Manifest.model_validate_json((store.version_dir(version) / MANIFEST).read_bytes())
    except (OSError, ValidationError) as exc:
        print(f"content version {version}: manifest unreadable: {str(exc).splitlines()[0]}", file=sys.stderr)
        return EXIT_REFUSED
    previous = store.previous_version()
    print(f"{_describe(manifest)}; created {manifest.created.isoformat()}, expires {manifest.expires.isoformat()}"
          + (f"; previous version {previous} kept" if previous else ""))
    return 0


def run_publish(args: argparse.Namespace) -> int:
    try:
        data = args.bundle.read_bytes()
        response = httpx.post(f"{args.to.rstrip('/')}/api/content/bundles", content=data,
                              headers={"Authorization": f"Bearer {args.token}", "Content-Type": "application/zip"},
                              timeout=PUBLISH_TIMEOUT_S)
    except (OSError, httpx.HTTPError) as exc:
        print(f"cannot publish: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    if response.status_code != 201:
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text[:200]
        print(f"refused by the backend ({response.status_code}): {message}", file=sys.stderr)
        return EXIT_REFUSED
    body = response.json()
    print(f"published content version {body['version']} for {body['target']} (sha256 {body['sha256'][:16]}…)")
    return 0
