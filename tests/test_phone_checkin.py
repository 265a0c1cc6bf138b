"""A number taken from a phone, checked in at the kiosk by scanning the phone page's QR (contracts E).

The scanned link is read strictly (a code cut out of a longer path would check in someone else's number), the
core sends it to the queue server on a worker, and every outcome — checked in, refused for each of the server's
reasons, another centre's link, the server down, a kiosk without a queue server — is a sentence for the citizen.
The server side is the queue's wire protocol (httpx MockTransport) for the failures a real server cannot be made
to give on demand, and the real queue server with its phone queue for every answer it gives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from backend.server import free_port
from config.loader import load_config
from devices.payloads import parse_payload
from kiosk.checkin_flow import CheckInResult, PhoneCheckIn, server_address
from kiosk.core import KioskCore
from kiosk.queue_client import BranchQueue, BranchUnavailable, CheckInRefused
from kiosk.scan_routing import route_scan
from kiosk.view_models.checkin import checkin_view
from tests.stores import store_target
from tests.support import ServedCentre, eventually, queue_token

SERVER = "http://queue.hk.example.vn:8700"
LINK = f"{SERVER}/phone/c/7K3M9QX2AB"


@pytest.mark.parametrize("text", [LINK, "https://q.example.vn/phone/c/7k3m9qx2ab", "HTTP://Q.VN/phone/c/0123456789"])
def test_a_check_in_link_is_read_with_its_code_and_host(text):
    payload = parse_payload(text)
    assert payload["kind"] == "checkin"
    assert payload["code"] == text.rsplit("/", 1)[1].upper() and payload["url"] == text


@pytest.mark.parametrize("text", [
    f"{SERVER}/phone/c/7K3M9QX2A",       # 9 characters
    f"{SERVER}/phone/c/7K3M9QX2ABC",     # 11
    f"{SERVER}/phone/c/7K3M9QX2AI",      # I is not Crockford base32 (nor L, O, U)
    f"{SERVER}/phone/c/7K3M9QX2AU",
    f"{SERVER}/phone/c/7K3M9QX2AB/",     # anything after the code
    f"{SERVER}/phone/c/7K3M9QX2AB/x",
    f"{SERVER}/phone/c/7K3M9QX2AB?ref=sms",
    f"{SERVER}/phone/c/7K3M9QX2AB#top",
    f"{SERVER}/phone/c/",
])
def test_anything_else_under_the_check_in_path_is_refused_never_cut_down(text):
    """GIVEN a link under /phone/c/ that is not exactly one code WHEN scanned THEN it is refused with its reason,
    in words, and the kiosk stays where it is."""
    payload = parse_payload(text)
    assert payload["kind"] == "unknown" and payload["problems"] == ["checkin_code_format"]
    route = route_scan(payload, {"home", "checkin"})
    assert route.screen is None
    assert route.text("vi") == ("Mã không dùng được: đường dẫn xác nhận có mặt không đúng dạng "
                                "(mã phải gồm đúng 10 ký tự).")
    assert "exactly 10 characters" in route.text("en")


def test_a_check_in_scan_opens_the_check_in_screen():
    route = route_scan(parse_payload(LINK), {"home", "checkin"})
    assert route.screen == "checkin" and route.text("vi") == "Đã đọc mã xác nhận có mặt"


def test_the_same_server_whatever_the_case_or_default_port():
    assert server_address("https://Q.vn") == server_address("https://q.vn:443/phone/c/x") == ("q.vn", 443)
    assert server_address("http://q.vn") != server_address("http://q.vn:8700")


class FakeServer:
    """The queue server's check-in endpoint as a MockTransport handler: records what it was sent."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status, self.body = status, body
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path != "/api/checkin":
            return httpx.Response(404, json={"error": "no such endpoint", "code": "not_found"})
        return httpx.Response(self.status, json=self.body)


def branch_queue(tmp_path, handler) -> BranchQueue:
    return BranchQueue(SERVER, kiosk_id="K1", token=queue_token(), state_path=tmp_path / "kiosk.db",
                       sync_interval_s=None, transport=httpx.MockTransport(handler))


def test_the_kiosk_sends_the_code_with_its_token_and_reads_the_answer(tmp_path):
    server = FakeServer(200, {"number": "A012", "service": "HT", "state": "waiting", "people_ahead": 3,
                              "estimate_min": 14.6})
    queue = branch_queue(tmp_path, server)
    try:
        result = PhoneCheckIn(queue.check_in, SERVER).run(parse_payload(LINK))
    finally:
        queue.close()
    assert result == CheckInResult("7K3M9QX2AB", "checked_in", number="A012", service="HT", people_ahead=3,
                                   estimate_min=15)
    (sent,) = server.requests
    assert sent.method == "POST" and json.loads(sent.content) == {"code": "7K3M9QX2AB"}
    assert sent.headers["Authorization"] == f"Bearer {queue_token()}"
    view = checkin_view(result, "vi", "Hộ tịch")
    assert (view.number, view.service, view.headline) == ("A012", "Hộ tịch", "Mời ông/bà chờ gọi số.")
    assert (view.ahead_text, view.wait_text) == ("Số người đang chờ trước bạn: 3",
                                                 "Thời gian chờ dự kiến: khoảng 15 phút")


@pytest.mark.parametrize(("status", "code", "vi"), [
    (404, "unknown_code", "Không tìm thấy số thứ tự của mã này. Mời ông/bà đến quầy hướng dẫn."),
    (409, "already_checked_in", "Số này đã được xác nhận có mặt rồi. Mời ông/bà chờ gọi số."),
    (409, "not_waiting", "Số này không còn trong hàng chờ (đã được gọi, đã hủy hoặc đã bị bỏ qua). "
                         "Mời ông/bà đến quầy hướng dẫn."),
    (410, "expired", "Mã này đã hết hạn. Mời ông/bà lấy số mới."),
    (401, "kiosk_refused", "Không xác nhận được có mặt. Mời ông/bà đến quầy để cán bộ xác nhận."),
])
def test_each_refusal_of_the_server_has_its_own_sentence(tmp_path, status, code, vi):
    queue = branch_queue(tmp_path, FakeServer(status, {"error": "no", "code": code}))
    try:
        with pytest.raises(CheckInRefused) as refused:
            queue.check_in("7K3M9QX2AB")
        assert refused.value.reason == code
        result = PhoneCheckIn(queue.check_in, SERVER).run(parse_payload(LINK))
    finally:
        queue.close()
    assert result.outcome == "refused" and result.reason == code
    view = checkin_view(result, "vi")
    assert not view.checked_in and view.number == "" and view.headline == vi
    assert checkin_view(result, "en").headline != vi


def test_server_down_or_failing_sends_the_citizen_to_the_counter_and_keeps_nothing(tmp_path):
    """GIVEN the queue server refuses connections, or answers 503 WHEN a check-in is scanned THEN the citizen is
    told to go to the counter, and nothing is kept to send later (the kiosk's offline file stays empty)."""
    down = BranchQueue(f"http://127.0.0.1:{free_port()}", kiosk_id="K1", token=queue_token(),
                       state_path=tmp_path / "down.db", sync_interval_s=None)
    failing = branch_queue(tmp_path, lambda _request: httpx.Response(503, json={"error": "busy", "code": "x"}))
    try:
        with pytest.raises(BranchUnavailable):
            down.check_in("7K3M9QX2AB")
        for queue in (down, failing):
            result = PhoneCheckIn(queue.check_in, f"http://{parse_payload(LINK)['host']}").run(parse_payload(LINK))
            assert result.outcome == "unavailable"
            assert checkin_view(result, "vi").headline == ("Hiện chưa xác nhận có mặt được. Mời ông/bà đến quầy để "
                                                           "cán bộ xác nhận.")
            assert queue.pending_reports() == 0
    finally:
        down.close()
        failing.close()


def test_a_link_of_another_server_is_refused_without_sending_anything(tmp_path):
    server = FakeServer(200, {})
    queue = branch_queue(tmp_path, server)
    try:
        result = PhoneCheckIn(queue.check_in, "https://other-centre.example.vn").run(parse_payload(LINK))
    finally:
        queue.close()
    assert result.outcome == "wrong_server" and server.requests == []
    assert checkin_view(result, "vi").headline == "Mã này là của một trung tâm khác, không dùng được tại đây."


def test_an_answer_without_its_fields_is_shown_as_unavailable(tmp_path):
    queue = branch_queue(tmp_path, FakeServer(200, {"state": "waiting"}))
    try:
        assert PhoneCheckIn(queue.check_in, SERVER).run(parse_payload(LINK)).outcome == "unavailable"
    finally:
        queue.close()


def test_a_kiosk_with_its_own_queue_says_it_takes_no_phone_numbers(tmp_path):
    """GIVEN a kiosk in local queue mode WHEN a check-in QR is scanned THEN the core answers (on a worker) that this
    kiosk takes no numbers from phones."""
    config = load_config(None, [f"data_dir={tmp_path}", "scanner.connection=sim:127.0.0.1:0"])
    core = KioskCore(config)
    answers: list[Any] = []
    core.events.subscribe("phone_checkin", lambda view: answers.append(view))
    try:
        assert core.check_in_phone(parse_payload(LINK))
        view = eventually(lambda: answers and answers[0])
    finally:
        core.close()
    assert not view.checked_in and view.code == "7K3M9QX2AB"
    assert view.headline == "Máy kiosk này không nhận số lấy qua điện thoại. Mời ông/bà đến quầy."


class RealCentre(ServedCentre):
    """The queue server with its phone queue on a known port (its check-in links name it); numbers are taken the
    way the phone page takes them, the code read from the SMS simulator's spool."""

    def __init__(self, tmp_path) -> None:
        from contracts.sms import SimulatedGateway

        self.spool = tmp_path / "sms"
        super().__init__(store_target(tmp_path / "queue.db"), public=True, counter_passwords={},
                         kiosk_tokens=[queue_token()], sms=SimulatedGateway(self.spool))

    def take(self, phone: str) -> tuple[str, dict[str, Any]]:
        """A number for ``phone``: (its page token, its view)."""
        from contracts.sms import read_simulated

        assert self.http.post("/api/phone/otp", json={"phone": phone, "service": "HT"}).status_code == 202
        texts = eventually(lambda: [m["text"] for m in read_simulated(self.spool) if m["phone"] == phone])
        made = self.http.post("/api/phone/tickets", json={
            "phone": phone, "otp": re.search(r"\b[0-9]{6}\b", texts[-1])[0], "service": "HT"})
        assert made.status_code == 201, made.text
        return made.json()["token"], made.json()["ticket"]


@pytest.fixture
def centre(tmp_path) -> Iterator[RealCentre]:
    with RealCentre(tmp_path) as running:
        yield running


@pytest.mark.stores
def test_against_the_real_queue_server_each_outcome_reaches_the_kiosk(centre, tmp_path):
    """GIVEN the real queue server WHEN its numbers' QR links are scanned THEN: checked in once (its place kept),
    then already checked in; a cancelled number is not waiting; yesterday's is expired; a made-up code unknown."""
    queue = BranchQueue(centre.url, kiosk_id="K1", token=queue_token(), state_path=tmp_path / "kiosk.db",
                        sync_interval_s=None)
    checkin = PhoneCheckIn(queue.check_in, centre.url)
    try:
        _token, first = centre.take("0912345678")
        cancelled_token, cancelled = centre.take("0987654321")
        assert centre.http.post(f"/api/phone/tickets/{cancelled_token}/cancel").status_code == 200
        scanned = parse_payload(first["checkin_url"])
        done = checkin.run(scanned)
        assert (done.outcome, done.number, done.service, done.people_ahead) == ("checked_in", first["number"], "HT", 0)
        assert [t.number for t in centre.engine.waiting("HT")] == [first["number"]]
        assert checkin.run(scanned).reason == "already_checked_in"
        assert checkin.run(parse_payload(cancelled["checkin_url"])).reason == "not_waiting"
        assert checkin.run(parse_payload(f"{centre.url}/phone/c/0000000000")).reason == "unknown_code"
        _token, late = centre.take("0911111111")
        centre.clock.advance(days=1)
        assert checkin.run(parse_payload(late["checkin_url"])).reason == "expired"
    finally:
        queue.close()
