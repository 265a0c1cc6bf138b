"""Content publishing: administrators upload signed bundles, kiosks fetch the newest one meant for them.

::

    POST /api/content/bundles                   admin token; body: the bundle (application/zip)
         201 {"version", "target", "sha256", "size"} · 409 version not above every published one · 413 too big
         422 refused, with the kiosk's own one-line reason: untrusted_signer (not signed by a trusted key),
             expired, forbidden_config_key (config.toml sets a key kiosks keep local), invalid_bundle
    GET  /api/content/latest?kiosk=ID[&group=G] kiosk or admin token (a kiosk token only for its own id)
         200 the bundle, ETag "<sha256>", X-Content-Version · 304 If-None-Match matches · 404 nothing for it

The backend keeps only bundles signed by a key it trusts (its ``--signing-key``, ``--trusted-key`` files and
``BACKEND_CONTENT_TRUSTED_KEYS``), unexpired, whose config sets only allowed keys; each kiosk checks again against
its own ``content.trusted_keys``. So an admin token alone cannot put foreign content on the shelf, and the admin
pages, which build on the newest bundle, never re-sign what someone else signed. Versions only go up across all
targets, so the newest bundle for a kiosk is the highest version whose target is all kiosks, its group or its id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from backend.store import opened
from contracts.content.bundle import BundleRejected, InspectedBundle, Limits, check_not_expired, inspect_bundle
from contracts.http import Call, Endpoint, Param, RawBody, Refused
from contracts.migrations import Migrations
from contracts.sqldb import Connection, Database

MAX_UPLOAD = 64 * 1024 * 1024
TRUST_SETTING = "backend serve --signing-key, --trusted-key or BACKEND_CONTENT_TRUSTED_KEYS"
content_migrations = Migrations()
# the bundles meant for a kiosk (parameters: its id, its group): for all kiosks, its group or itself
FOR_KIOSK = ("(target_kind = 'all' OR (target_kind = 'kiosk' AND target_value = ?) "
             "OR (target_kind = 'group' AND target_value = ?))")


@content_migrations("0001_content_bundles")
def _schema(conn: Connection) -> None:
    blob, version = ("BYTEA", "BIGINT") if conn.dialect == "postgresql" else ("BLOB", "INTEGER")
    conn.execute(f"CREATE TABLE content_bundles (version {version} PRIMARY KEY, target_kind TEXT NOT NULL, "
                 f"target_value TEXT, sha256 TEXT NOT NULL, published_at TEXT NOT NULL, data {blob} NOT NULL)")


class Rejected(Refused):
    """A bundle the shelf will not keep (422 refused, 409 version too low); the admin pages show it too."""


class ContentShelf:
    """Published bundles, bytes included, in a database (a SQLite file or ``:memory:``, or the PostgreSQL database
    every backend process shares, so a kiosk may poll any of them), each signed by one of ``trusted_keys``
    (Ed25519 public keys, base64 or hex) when it was published."""

    def __init__(self, target: Database | str | Path, trusted_keys: Sequence[str] = ()) -> None:
        self.trusted_keys = tuple(trusted_keys)
        self.db = opened(target)
        self.db.migrate(content_migrations)

    def inspect(self, data: bytes) -> InspectedBundle:
        """``data`` checked against this shelf's trusted keys (whatever its age).

        :raises BundleRejected: the first problem.
        """
        return inspect_bundle(data, Limits(MAX_UPLOAD), trusted=self.trusted_keys, setting=TRUST_SETTING)

    def publish(self, data: bytes) -> dict[str, object]:
        """Store a bundle after checking it; raises :class:`Rejected` (422 refused, 409 version too low)."""
        try:
            manifest = self.inspect(data).manifest
            check_not_expired(manifest)
        except BundleRejected as exc:
            raise Rejected(422, exc.code, exc.reason) from None
        digest = hashlib.sha256(data).hexdigest()
        with self.db.transaction(lock="content_bundles") as conn:
            newest = conn.execute("SELECT max(version) FROM content_bundles").fetchone()[0] or 0
            if manifest.version <= newest:
                raise Rejected(409, "version_too_low", f"version {manifest.version} is not above the newest "
                                                       f"published version {newest}")
            kind, value = next(iter(manifest.target.model_dump(exclude_none=True).items()))
            conn.execute("INSERT INTO content_bundles (version, target_kind, target_value, sha256, published_at, "
                         "data) VALUES (?, ?, ?, ?, ?, ?)", [
                             manifest.version, kind, None if kind == "all" else value, digest,
                             datetime.now(UTC).isoformat(timespec="seconds"), data])
        return {"version": manifest.version, "target": str(manifest.target), "sha256": digest, "size": len(data)}

    def newest_for(self, kiosk_id: str, group: str | None) -> tuple[int, str] | None:
        """(version, sha256) of the newest bundle targeting this kiosk, or None: what a poll compares its ETag with,
        before any bytes are read."""
        rows = self.db.query(f"SELECT version, sha256 FROM content_bundles WHERE {FOR_KIOSK} "
                             "ORDER BY version DESC LIMIT 1", [kiosk_id, group])
        return (rows[0][0], rows[0][1]) if rows else None

    def bundle(self, version: int) -> bytes:
        return bytes(self.db.query("SELECT data FROM content_bundles WHERE version = ?", [version])[0][0])

    def latest_for(self, kiosk_id: str, group: str | None) -> tuple[int, str, bytes] | None:
        """(version, sha256, bytes) of the newest bundle targeting this kiosk, or None."""
        newest = self.newest_for(kiosk_id, group)
        return (*newest, self.bundle(newest[0])) if newest else None


def _etag_matches(header: str, etag: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in tags or "*" in tags


def content_endpoints(shelf: ContentShelf) -> list[Endpoint]:
    async def publish(call: Call) -> Response:
        return JSONResponse(await run_in_threadpool(shelf.publish, call.body), status_code=201)

    async def latest(call: Call) -> Response:
        kiosk_id = call.query.get("kiosk", "")
        group = call.query.get("group") or None
        if not kiosk_id or len(kiosk_id) > 32:
            raise Refused(422, "invalid", "kiosk=ID is required (at most 32 characters)")
        role, own_kiosk = call.caller
        if role != "admin" and own_kiosk is not None and own_kiosk != kiosk_id:
            raise Refused(403, "forbidden", "a kiosk token may only fetch content for its own kiosk")
        found = shelf.newest_for(kiosk_id, group)
        if found is None:
            raise Refused(404, "no_content", f"no content published for kiosk {kiosk_id}")
        version, digest = found
        headers = {"ETag": f'"{digest}"', "X-Content-Version": str(version)}
        if _etag_matches(call.request.headers.get("if-none-match", ""), headers["ETag"]):
            return Response(status_code=304, headers=headers)
        return Response(await run_in_threadpool(shelf.bundle, version), media_type="application/zip",
                        headers=headers)

    return [
        Endpoint("POST", "/api/content/bundles", publish, "Publish a signed content bundle", auth="admin",
                 body=RawBody("application/zip"), max_body=MAX_UPLOAD, errors=(409, 422),
                 ok={201: "{version, target, sha256, size} of the published bundle"}),
        Endpoint("GET", "/api/content/latest", latest, "The newest bundle meant for a kiosk (ETag: its sha256)",
                 auth="kiosk", errors=(403, 404, 422), produces="application/zip",
                 ok={200: "the bundle; X-Content-Version header", 304: "If-None-Match matches the newest bundle"},
                 params=(Param("kiosk", {"type": "string", "maxLength": 32}, "the kiosk's id", required=True),
                        Param("group", {"type": "string"}, "the kiosk's content group"))),
    ]
