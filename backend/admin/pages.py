"""The admin pages: login, fleet dashboard, a kiosk's log tail, the announcement editor, content versions.

::

    GET  /admin                          → the dashboard (or the login page)
    GET  /admin/login  · POST /admin/login · POST /admin/logout
    GET  /admin/fleet[?branch=B]         kiosks with state, age of the last heartbeat and flags (refreshes itself)
    GET  /admin/kiosks/{id}/log          the last log lines and installation checks a kiosk reported
    GET  /admin/announcements?target=T   the announcements target T receives now, as an editable form
    POST /admin/announcements            publish the form's announcements to its target as a signed bundle
    GET  /admin/content                  which kiosks report which content version, and the published bundles

Pages are rendered on the server (Jinja2, autoescaped) with one small script; the CSP allows no inline script.
Every POST needs the CSRF token of the form it came from: the session's token once logged in, a double-submit
cookie on the login form. Forms are parsed here (urlencoded only) with a size cap.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import unicodedata
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from nacl.signing import SigningKey
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from backend.admin.publishing import (
    SERVICES,
    PublishingShelf,
    current_announcements,
    current_files,
    current_services,
    publish_announcements,
    publish_files,
)
from backend.admin.sessions import AdminSessions, LoginGuard, same_token
from backend.content_routes import Rejected
from backend.fleet import RED_FLAGS, FleetStore, KioskState
from config.localtime import LOCAL_TZ
from config.schema import KioskConfig
from contracts.content.bundle import BuildError
from contracts.content.models import Services, Target, TimedAnnouncement
from contracts.http import read_capped, size_text

HERE = Path(__file__).parent
SESSION_COOKIE = "admin_session"
LOGIN_CSRF_COOKIE = "admin_login_csrf"
MAX_FORM_BYTES = 64 * 1024
MAX_ANNOUNCEMENTS = 50
BLANK_ROWS = 2
FAILED_LOGIN_DELAY_S = 0.3  # tokens are long and random; this only slows a script that hammers the form
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
PRINTER_LABELS = {"ok": "Bình thường", "paper_low": "Sắp hết giấy", "paper_out": "Hết giấy",
                  "offline": "Mất kết nối", "error": "Lỗi"}
FLAG_LABELS = {"silent": "Mất liên lạc", "paper_out": "Hết giấy", "printer_offline": "Máy in mất kết nối",
               "printer_error": "Máy in lỗi", "paper_low": "Sắp hết giấy", "error": "Có lỗi",
               "doctor": "Tự kiểm tra không đạt"}
SCANNER_LABELS = {"listening": "Sẵn sàng", "offline": "Mất kết nối"}
FIELD_LABELS = {"text": "nội dung", "text_en": "nội dung tiếng Anh", "start": "bắt đầu", "end": "kết thúc"}
TokenRole = Callable[[str], tuple[str, str | None] | None]
Form = dict[str, list[str]]


class FormError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


async def read_form(request: Request) -> Form:
    """An urlencoded form body (at most :data:`MAX_FORM_BYTES`) as name → values."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise FormError(415, "Biểu mẫu phải được gửi dạng application/x-www-form-urlencoded.")
    raw = await read_capped(request, MAX_FORM_BYTES)
    if raw is None:
        raise FormError(413, f"Biểu mẫu quá lớn (tối đa {size_text(MAX_FORM_BYTES)}).")
    try:
        return parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=500)
    except (UnicodeDecodeError, ValueError):
        raise FormError(400, "Biểu mẫu không đọc được.") from None


def field(form: Form, name: str) -> str:
    values = form.get(name)
    return values[0].strip() if values else ""


def safe_next(target: str) -> str:
    """Where to go after logging in: only a path inside the admin pages (no open redirect)."""
    if target.startswith("/admin/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/admin/fleet"


def local_time(moment: float | str | None) -> str:
    """Epoch seconds or an ISO timestamp as Hanoi time, e.g. ``20/11/2025 09:30:15``."""
    if moment is None or moment == "":
        return "—"
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else datetime.fromtimestamp(moment, LOCAL_TZ)
    return when.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M:%S")


def ago(seconds: float) -> str:
    if seconds < 60:
        return f"{int(seconds)} giây trước"
    if seconds < 3600:
        return f"{int(seconds // 60)} phút trước"
    if seconds < 86400:
        return f"{int(seconds // 3600)} giờ trước"
    return f"{int(seconds // 86400)} ngày trước"


def target_label(target: Target) -> str:
    if target.all:
        return "tất cả kiosk"
    return f"nhóm {target.group}" if target.group else f"kiosk {target.kiosk}"


def target_text(target: Target) -> str:
    """The form of ``Target.parse``: all, group:X, kiosk:ID."""
    return "all" if target.all else f"group:{target.group}" if target.group else f"kiosk:{target.kiosk}"


def _local_input(moment: datetime | None) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _parse_local(text: str) -> datetime | None:
    """A ``datetime-local`` value (Hanoi time unless it names an offset); raises ValueError."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)


def _row_error(number: int, exc: ValidationError) -> str:
    error = exc.errors()[0]
    name = FIELD_LABELS.get(str(error["loc"][0]) if error["loc"] else "", "")
    if error["type"] == "string_too_long":
        return f"Dòng {number}: {name} dài quá {error['ctx']['max_length']} ký tự."
    if error["type"] == "value_error":
        return f"Dòng {number}: thời điểm kết thúc phải sau thời điểm bắt đầu."
    return f"Dòng {number}: {name} không hợp lệ ({error['msg']})."


def announcements_from_form(form: Form) -> tuple[list[dict[str, str]], list[TimedAnnouncement], list[str]]:
    """(rows as typed, for showing the form again; the announcements; problems in Vietnamese, one per line).

    Rows whose text is empty are dropped: clearing a row's text removes that announcement.
    """
    columns = [form.get(name, []) for name in FIELD_LABELS]
    if len({len(values) for values in columns}) != 1:
        raise FormError(400, "Biểu mẫu thông báo không đầy đủ.")
    rows = [dict(zip(FIELD_LABELS, (unicodedata.normalize("NFC", value.strip()) for value in values)))
            for values in zip(*columns)]
    items: list[TimedAnnouncement] = []
    problems: list[str] = []
    for number, row in enumerate(rows, start=1):
        if not row["text"]:
            if row["text_en"]:
                problems.append(f"Dòng {number}: có nội dung tiếng Anh nhưng chưa có nội dung tiếng Việt.")
            continue
        try:
            start, end = _parse_local(row["start"]), _parse_local(row["end"])
        except ValueError:
            problems.append(f"Dòng {number}: ngày giờ không hợp lệ.")
            continue
        try:
            items.append(TimedAnnouncement(text=row["text"], text_en=row["text_en"], start=start, end=end))
        except ValidationError as exc:
            problems.append(_row_error(number, exc))
    if len(items) > MAX_ANNOUNCEMENTS:
        problems.append(f"Tối đa {MAX_ANNOUNCEMENTS} thông báo cho một đối tượng.")
    return rows, items, problems


def _rows(items: list[TimedAnnouncement]) -> list[dict[str, str]]:
    return [{"text": item.text, "text_en": item.text_en, "start": _local_input(item.start),
             "end": _local_input(item.end)} for item in items]


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(local_time=local_time, ago=ago, target_label=target_label, target_text=target_text)
templates.env.globals.update(PRINTER_LABELS=PRINTER_LABELS, SCANNER_LABELS=SCANNER_LABELS, FLAG_LABELS=FLAG_LABELS,
                             RED_FLAGS=RED_FLAGS)


@dataclass
class AdminPages:
    token_role: TokenRole
    fleet: FleetStore
    shelf: PublishingShelf
    sessions: AdminSessions
    signing_key: SigningKey | None
    builder_config: KioskConfig  # content is checked as a kiosk with the default config would check it
    guard: LoginGuard  # per-address backoff and the global limit on failed logins

    # -- plumbing ---------------------------------------------------------------------------------------------
    @staticmethod
    def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        return templates.TemplateResponse(request, name, context, status_code=status, headers=SECURITY_HEADERS)

    def logged_in(self, handler: Callable[[Request, str, Form], Awaitable[Response]]) -> Callable[..., Any]:
        """Wrap a page: no live session → the login page; a POST → a checked CSRF token and the parsed form."""

        async def page(request: Request) -> Response:
            csrf = self.sessions.csrf_for(request.cookies.get(SESSION_COOKIE, ""))
            if csrf is None:
                wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/admin/login?next={quote(wanted, safe='')}", status_code=303)
            form: Form = {}
            if request.method == "POST":
                try:
                    form = await read_form(request)
                except FormError as exc:
                    return self.problem(request, exc.status, exc.message, csrf)
                if not same_token(field(form, "csrf"), csrf):
                    return self.problem(request, 403, "Biểu mẫu đã hết hạn hoặc không hợp lệ (CSRF). "
                                                      "Hãy tải lại trang rồi thử lại.", csrf)
            try:
                return await handler(request, csrf, form)
            except FormError as exc:
                return self.problem(request, exc.status, exc.message, csrf)
            except self.fleet.db.data_errors:  # a value the database cannot hold (PostgreSQL: a NUL in a text)
                return self.problem(request, 422, "Địa chỉ hoặc biểu mẫu chứa ký tự không hợp lệ.", csrf)

        return page

    def problem(self, request: Request, status: int, message: str, csrf: str | None) -> Response:
        return self.render(request, "problem.html", {"message": message, "csrf": csrf, "status": status}, status)

    # -- login ------------------------------------------------------------------------------------------------
    def login_form(self, request: Request, next_url: str, *, error: str | None = None, status: int = 200) -> Response:
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
        response = self.render(request, "login.html", {
            "csrf": None, "login_csrf": token, "error": error, "next": safe_next(next_url)}, status)
        response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, path="/admin/login", httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
        return response

    async def login_page(self, request: Request) -> Response:
        if self.sessions.csrf_for(request.cookies.get(SESSION_COOKIE, "")):
            return RedirectResponse("/admin/fleet", status_code=303)
        return self.login_form(request, request.query_params.get("next", ""))

    async def login(self, request: Request) -> Response:
        try:
            form = await read_form(request)
        except FormError as exc:
            return self.problem(request, exc.status, exc.message, None)
        if not same_token(field(form, "csrf"), request.cookies.get(LOGIN_CSRF_COOKIE, "")):
            return self.problem(request, 403, "Trang đăng nhập đã hết hạn (CSRF). Hãy tải lại trang đăng nhập.",
                                None)
        address = request.client.host if request.client else ""
        wait = self.guard.retry_after(address)
        if wait:  # refused before the token is compared: a blocked guesser learns nothing
            return self._locked_out(request, field(form, "next"), wait)
        token = field(form, "token")
        found = self.token_role(token) if token else None
        if found is None or found[0] != "admin":
            await asyncio.sleep(FAILED_LOGIN_DELAY_S)
            blocked = self.guard.failed(address)
            if blocked:
                return self._locked_out(request, field(form, "next"), blocked)
            return self.login_form(request, field(form, "next"), error="Mã quản trị không đúng.", status=401)
        self.guard.succeeded(address)
        session_id, _csrf = self.sessions.create()
        response = RedirectResponse(safe_next(field(form, "next")), status_code=303)
        response.set_cookie(SESSION_COOKIE, session_id, max_age=int(self.sessions.ttl_s), path="/admin",
                            httponly=True, samesite="strict", secure=request.url.scheme == "https")
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/admin/login")
        return response

    def _locked_out(self, request: Request, next_url: str, wait: float) -> Response:
        seconds = math.ceil(wait)
        response = self.login_form(request, next_url, status=429, error=(
            f"Đăng nhập sai quá nhiều lần từ máy này. Hãy thử lại sau {seconds} giây."))
        response.headers["Retry-After"] = str(seconds)
        return response

    async def logout(self, request: Request, _csrf: str, _form: Form) -> Response:
        self.sessions.end(request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse("/admin/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/admin")
        return response

    # -- pages ------------------------------------------------------------------------------------------------
    async def fleet_page(self, request: Request, csrf: str, _form: Form) -> Response:
        branch = request.query_params.get("branch", "")
        kiosks = self.fleet.kiosks(branch or None)
        return self.render(request, "fleet.html", {
            "csrf": csrf, "nav": "fleet", "kiosks": kiosks, "branch": branch, "branches": self.fleet.branches(),
            "red": sum(k.severity == "red" for k in kiosks), "orange": sum(k.severity == "orange" for k in kiosks),
            "now": self.fleet.now(),
        })

    async def log_page(self, request: Request, csrf: str, _form: Form) -> Response:
        kiosk_id = request.path_params["kiosk_id"]
        found = self.fleet.log_tail(kiosk_id)
        if found is None:
            return self.problem(request, 404, f"Chưa nhận được tín hiệu nào từ kiosk {kiosk_id[:32]}.", csrf)
        received_at, lines, status = found
        return self.render(request, "log.html", {"csrf": csrf, "nav": "fleet", "kiosk_id": kiosk_id,
                                                 "received_at": received_at, "lines": lines, "status": status})

    def _targets(self, kiosks: list[KioskState]) -> list[Target]:
        groups = sorted({k.status["group"] for k in kiosks if k.status.get("group")})
        return ([Target(all=True)] + [Target(group=g) for g in groups]
                + [Target(kiosk=k.kiosk_id) for k in sorted(kiosks, key=lambda k: k.kiosk_id)])

    def _editor(self, request: Request, csrf: str, target: Target, rows: list[dict[str, str]], *,
                problems: Sequence[str] = (), status: int = 200, published: str = "",
                unverified: str | None = None) -> Response:
        """``unverified``: why the target's newest bundle cannot be built on (``Base.problem``); the page says so
        and offers no publishing, which would be refused (409 ``unverified_base``)."""
        blank = {name: "" for name in FIELD_LABELS}
        return self.render(request, "announcements.html", {
            "csrf": csrf, "nav": "announcements", "target": target, "target_text": target_text(target),
            "targets": self._targets(self.fleet.kiosks()), "rows": rows + [blank] * BLANK_ROWS,
            "problems": list(problems), "published": published, "can_publish": self.signing_key is not None,
            "newest": self.shelf.newest_version(), "unverified": unverified,
        }, status)

    def _target(self, text: str) -> Target:
        try:
            return Target.parse(text or "all")
        except (ValueError, ValidationError):
            raise FormError(422, f"Đối tượng {text[:60]!r} không hợp lệ: dùng all, group:TÊN hoặc kiosk:MÃ.") from None

    async def announcements_page(self, request: Request, csrf: str, _form: Form) -> Response:
        target = self._target(request.query_params.get("target", ""))
        files = await run_in_threadpool(current_files, self.shelf, target, self.fleet.group_of)
        return self._editor(request, csrf, target, _rows(current_announcements(files)),
                            published=request.query_params.get("published", "")[:12], unverified=files.problem)

    async def publish(self, request: Request, csrf: str, form: Form) -> Response:
        target = self._target(field(form, "target"))
        rows, items, problems = announcements_from_form(form)
        if self.signing_key is None:
            problems.append("Backend chưa có khoá ký nội dung: khởi động lại với `backend serve --signing-key FILE`.")
        if problems:
            return self._editor(request, csrf, target, rows, problems=problems, status=422)
        base = await run_in_threadpool(current_files, self.shelf, target, self.fleet.group_of)
        try:
            published = await run_in_threadpool(publish_announcements, self.shelf, self.signing_key, target, items,
                                                base, self.builder_config)
        except BuildError as exc:
            return self._editor(request, csrf, target, rows, problems=[f"Nội dung bị từ chối: {exc}"], status=422)
        except Rejected as exc:
            return self._editor(request, csrf, target, rows, problems=[f"Không phát hành được: {exc.message}"],
                                status=exc.status, unverified=base.problem)
        query = urlencode({"target": target_text(target), "published": published["version"]})
        return RedirectResponse(f"/admin/announcements?{query}", status_code=303)

    def _services_editor(self, request: Request, csrf: str, target: Target, text: str, *,
                         problems: Sequence[str] = (), status: int = 200, published: str = "",
                         unverified: str | None = None) -> Response:
        """``unverified`` as for :meth:`_editor`."""
        return self.render(request, "services.html", {
            "csrf": csrf, "nav": "services", "target": target, "target_text": target_text(target),
            "targets": self._targets(self.fleet.kiosks()), "text": text, "problems": list(problems),
            "published": published, "can_publish": self.signing_key is not None,
            "newest": self.shelf.newest_version(), "unverified": unverified,
        }, status)

    async def services_page(self, request: Request, csrf: str, _form: Form) -> Response:
        target = self._target(request.query_params.get("target", ""))
        files = await run_in_threadpool(current_files, self.shelf, target, self.fleet.group_of)
        return self._services_editor(request, csrf, target, current_services(files, self.builder_config),
                                     published=request.query_params.get("published", "")[:12],
                                     unverified=files.problem)

    async def publish_services(self, request: Request, csrf: str, form: Form) -> Response:
        """Services, counters and opening hours as JSON, checked by the same model kiosks use before publishing."""
        target = self._target(field(form, "target"))
        text = field(form, "services")
        problems = [] if self.signing_key else [
            "Backend chưa có khoá ký nội dung: khởi động lại với `backend serve --signing-key FILE`."]
        try:
            Services.model_validate_json(text)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "JSON"
            problems.append(f"Danh sách dịch vụ chưa đúng ở {where}: {error['msg']}")
        if problems:
            return self._services_editor(request, csrf, target, text, problems=problems, status=422)
        base = await run_in_threadpool(current_files, self.shelf, target, self.fleet.group_of)
        try:
            published = await run_in_threadpool(publish_files, self.shelf, self.signing_key, target,
                                                {SERVICES: text.encode("utf-8")}, base, self.builder_config)
        except BuildError as exc:
            return self._services_editor(request, csrf, target, text, problems=[f"Nội dung bị từ chối: {exc}"],
                                         status=422)
        except Rejected as exc:
            return self._services_editor(request, csrf, target, text,
                                         problems=[f"Không phát hành được: {exc.message}"], status=exc.status,
                                         unverified=base.problem)
        query = urlencode({"target": target_text(target), "published": published["version"]})
        return RedirectResponse(f"/admin/services?{query}", status_code=303)

    async def content_page(self, request: Request, csrf: str, _form: Form) -> Response:
        kiosks = self.fleet.kiosks()
        rows = [(k, self.shelf.version_for(k.kiosk_id, k.status.get("group"))) for k in kiosks]
        reported = Counter(kiosk.status.get("content_version") for kiosk in kiosks)
        return self.render(request, "content.html", {
            "csrf": csrf, "nav": "content", "rows": rows, "published": self.shelf.published(),
            "reported": sorted(reported.items(), key=lambda item: -(item[0] or 0)),
            "behind": sum(due is not None and k.status.get("content_version") != due
                                                for k, due in rows),
        })

    def routes(self) -> list[BaseRoute]:
        async def home(_request: Request) -> Response:
            return RedirectResponse("/admin/fleet", status_code=303)

        return [
            Route("/admin", home), Route("/admin/", home),
            Route("/admin/login", self.login_page, methods=["GET"]),
            Route("/admin/login", self.login, methods=["POST"]),
            Route("/admin/logout", self.logged_in(self.logout), methods=["POST"]),
            Route("/admin/fleet", self.logged_in(self.fleet_page), methods=["GET"]),
            Route("/admin/kiosks/{kiosk_id}/log", self.logged_in(self.log_page), methods=["GET"]),
            Route("/admin/announcements", self.logged_in(self.announcements_page), methods=["GET"]),
            Route("/admin/announcements", self.logged_in(self.publish), methods=["POST"]),
            Route("/admin/content", self.logged_in(self.content_page), methods=["GET"]),
            Route("/admin/services", self.logged_in(self.services_page), methods=["GET"]),
            Route("/admin/services", self.logged_in(self.publish_services), methods=["POST"]),
            Mount("/admin/static", app=StaticFiles(directory=HERE / "static"), name="admin-static"),
        ]
