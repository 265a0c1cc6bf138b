"""Survey round trip against a real backend on 127.0.0.1: answers taken while the backend is away reach it exactly
once through the outbox, the daily report per branch and service adds up, bad answers and wrong tokens are refused,
and the CSV parses. The tests marked ``stores`` run on SQLite and again on PostgreSQL (tests/stores.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.app import BackendSettings
from backend.server import RunningBackend, free_port, open_store, start_in_thread
from backend.store import BackendStore
from config.localtime import LOCAL_TZ
from kiosk.backend_client import BackendClient, BackendRejected
from kiosk.outbox import Outbox
from kiosk.survey import REASONS, InvalidAnswer, SurveyStore
from tests.stores import store_target
from tests.support import KIOSK_ID, dossier_body, eventually

ADMIN, KIOSK, READER = "survey-admin-token", "survey-kiosk-token", "survey-report-token"
HOAN_KIEM = "Trung tâm Phục vụ hành chính công phường Hoàn Kiếm"
BA_DINH = "Điểm tiếp nhận phường Ba Đình"
DAY = (dt.datetime.now(LOCAL_TZ) - dt.timedelta(days=2)).date()  # in the past wherever the tests run


@pytest.fixture
def backend_db(tmp_path) -> Path | str:
    """The backend's database: a SQLite file, or a PostgreSQL database in a ``--store postgresql`` run."""
    target = store_target(tmp_path / "backend" / "backend.db")
    store = open_store(target)
    store.add_token("admin", None, ADMIN)
    store.add_token("kiosk", KIOSK_ID, KIOSK)
    store.add_token("report", None, READER)
    store.close()
    return target


def start(backend_db: Path | str, port: int = 0) -> RunningBackend:
    return start_in_thread(backend_db, port=port, settings=BackendSettings.beside(backend_db), kiosk_id=KIOSK_ID)


def count_dossiers(backend_db: Path | str) -> int:
    store = BackendStore(backend_db)
    try:
        return store.count_dossiers()
    finally:
        store.close()


@pytest.fixture
def backend(backend_db):
    running = start(backend_db)
    yield running
    running.stop()


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), LOCAL_TZ)


def open_kiosk(data: Path, clock) -> tuple[Outbox, SurveyStore]:
    outbox = Outbox(data / "outbox.db", KIOSK_ID, clock)
    return outbox, SurveyStore(data / "survey.db", KIOSK_ID, clock, outbox=outbox, branch=HOAN_KIEM)


def close_kiosk(outbox: Outbox, survey: SurveyStore) -> None:
    outbox.close()
    survey._db.close()


def report(url: str, token: str = ADMIN, path: str = "/api/reports/surveys", **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{url}{path}", params=params, headers=headers, timeout=5)


# -- the kiosk's side: outbox, restarts, lost files ------------------------------------------------------------------
KIOSK_ANSWERS = [  # (score, reasons, service, counter, kind)
    (5, ("kiosk_easy",), "HT", 2, "ticket"), (2, ("wait_time", "staff_attitude"), "HT", 2, "ticket"),
    (4, (), "", None, "standalone"), (3, ("guidance",), "CT", None, "lookup"),
]


@pytest.mark.stores
def test_answers_taken_while_the_backend_is_down_arrive_exactly_once_when_it_is_back(tmp_path, backend_db):
    """GIVEN a kiosk whose backend does not answer WHEN citizens rate, the kiosk restarts, and the backend comes
    back THEN the sender thread delivers every answer once and the backend's figures are the kiosk's own."""
    clock = lambda: at(10)  # noqa: E731
    port = free_port()
    outbox, survey = open_kiosk(tmp_path / "kiosk", clock)
    for answer in KIOSK_ANSWERS[:2]:
        survey.record(*answer)
    close_kiosk(outbox, survey)  # a restart while the backend is away
    outbox, survey = open_kiosk(tmp_path / "kiosk", clock)
    assert survey.reconcile() == 0, "both answers are still in the outbox"
    for answer in KIOSK_ANSWERS[2:]:
        survey.record(*answer)
    client = BackendClient(f"http://127.0.0.1:{port}", KIOSK, timeout_s=2)
    outbox.run_sender(lambda: client)
    eventually(lambda: outbox.items()[0]["attempts"] >= 1)  # the sender tried, nobody answered
    assert [item["state"] for item in outbox.items()] == ["pending"] * len(KIOSK_ANSWERS)

    running = start(backend_db, port)
    try:
        eventually(lambda: not outbox.items("pending"))
        outbox.stop()
        assert [(item["kind"], item["state"], item["code"]) for item in outbox.items()] == [
            ("survey", "delivered", None)] * len(KIOSK_ANSWERS)
        branch = report(running.url, day=DAY.isoformat()).json()["branches"]
    finally:
        client.close()
        close_kiosk(outbox, survey)
        running.stop()
    scores = [answer[0] for answer in KIOSK_ANSWERS]
    assert [(b["branch"], b["count"], b["average"]) for b in branch] == [
        (HOAN_KIEM, len(scores), round(sum(scores) / len(scores), 2))]
    local = {figure.service: figure for figure in SurveyStore(tmp_path / "kiosk" / "survey.db", KIOSK_ID).daily(DAY)}
    for service in branch[0]["services"]:
        assert (service["count"], service["average"], service["satisfied_share"]) == (
            local[service["service"]].answers, local[service["service"]].average,
            local[service["service"]].satisfied_share)


@pytest.mark.stores
def test_an_outbox_lost_after_delivery_hands_answers_over_again_and_the_backend_keeps_one(tmp_path, backend):
    """GIVEN answers delivered but not yet settled locally WHEN the outbox file is lost (rebuilt empty after damage)
    THEN reconcile hands them over again, the backend answers "already have it", and nothing is counted twice."""
    data = tmp_path / "kiosk"
    outbox, survey = open_kiosk(data, lambda: at(11))
    client = BackendClient(backend.url, KIOSK, timeout_s=2)
    try:
        for answer in KIOSK_ANSWERS:
            survey.record(*answer)
        assert outbox.deliver_once(client) == len(KIOSK_ANSWERS)
        close_kiosk(outbox, survey)
        for path in data.glob("outbox.db*"):
            path.unlink()
        outbox, survey = open_kiosk(data, lambda: at(11))
        assert survey.reconcile() == len(KIOSK_ANSWERS)
        assert outbox.deliver_once(client) == len(KIOSK_ANSWERS)
        assert survey.reconcile() == 0 and survey.undelivered() == [], "the delivered answers are settled"
        assert report(backend.url, day=DAY.isoformat()).json()["branches"][0]["count"] == len(KIOSK_ANSWERS)
    finally:
        client.close()
        close_kiosk(outbox, survey)


@pytest.mark.stores
def test_dossiers_and_answers_share_one_outbox_and_go_to_their_own_endpoints(tmp_path, backend, backend_db):
    outbox, survey = open_kiosk(tmp_path / "kiosk", lambda: at(9))
    before = count_dossiers(backend_db)
    survey.record(5, ("guidance",), "HT", kind="ticket")
    ref = outbox.add("dossier-key-0001", dossier_body("HT01"))
    survey.record(1, ("wait_time",), kind="standalone")
    client = BackendClient(backend.url, KIOSK, timeout_s=2)
    try:
        assert outbox.deliver_once(client) == 3
        assert [item["kind"] for item in outbox.items()] == ["survey", "dossier", "survey"]
        assert outbox.find(ref)["code"].startswith("000.00.13.H26-")
    finally:
        client.close()
        close_kiosk(outbox, survey)
    assert count_dossiers(backend_db) == before + 1
    assert report(backend.url, day=DAY.isoformat()).json()["branches"][0]["count"] == 2


@pytest.mark.parametrize(("change", "word"), [
    ({"service": "ht"}, "service"), ({"counter": 0}, "counter"), ({"kind": "survey"}, "kind"),
    ({"reasons": ("wait_time", "rude")}, "reasons"),
])
def test_the_kiosk_refuses_what_the_survey_does_not_offer(tmp_path, change, word):
    outbox, survey = open_kiosk(tmp_path, lambda: at(9))
    answer = {"score": 4, "reasons": (), "service": "HT", "counter": 1, "kind": "ticket", **change}
    with pytest.raises(InvalidAnswer, match=word):
        survey.record(**answer)
    assert survey.undelivered() == [] and outbox.items() == []
    close_kiosk(outbox, survey)
    with pytest.raises(ValueError, match="branch"):
        SurveyStore(tmp_path / "survey.db", KIOSK_ID, outbox=outbox)


# -- the backend's report --------------------------------------------------------------------------------------------
def generated_answers() -> list[dict[str, Any]]:
    """A day of answers at two branches, plus answers either side of the local midnights given in UTC."""
    rng = random.Random(11)
    answers = []
    for n in range(40):
        branch = rng.choice([HOAN_KIEM, BA_DINH])
        service = rng.choice(["HT", "CT", "KD", ""])
        answers.append({
            "rating": rng.choice([1, 2, 3, 4, 4, 5, 5, 5]), "reasons": rng.sample(REASONS, rng.randint(0, 3)),
            "service": service, "counter": rng.randint(1, 9) if service else None,
            "kind": "standalone" if not service else rng.choice(["ticket", "lookup"]), "branch": branch,
            "answered_at": at(7 + n % 10, n).isoformat()})
    utc = dt.UTC
    answers += [  # 00:10 and 23:50 local on DAY, given in UTC (the UTC date is the day before / the same day)
        {"rating": 1, "reasons": ["wait_time"], "kind": "standalone", "branch": BA_DINH,
         "answered_at": at(0, 10).astimezone(utc).isoformat()},
        {"rating": 5, "kind": "ticket", "service": "HT", "branch": BA_DINH,
         "answered_at": at(23, 50).astimezone(utc).isoformat()},
        # 00:05 local the next day and 23:55 local the day before: other days
        {"rating": 2, "kind": "standalone", "branch": BA_DINH,
         "answered_at": at(0, 5, DAY + dt.timedelta(days=1)).astimezone(utc).isoformat()},
        {"rating": 3, "kind": "standalone", "branch": HOAN_KIEM,
         "answered_at": at(23, 55, DAY - dt.timedelta(days=1)).isoformat()},
    ]
    return answers


def local_day(answer: dict[str, Any]) -> dt.date:
    return dt.datetime.fromisoformat(answer["answered_at"]).astimezone(LOCAL_TZ).date()


def figures(answers: list[dict[str, Any]]) -> dict[str, Any]:
    ratings = [answer["rating"] for answer in answers]
    return {"count": len(ratings), "average": round(sum(ratings) / len(ratings), 2),
            "satisfied_share": round(sum(rating >= 4 for rating in ratings) / len(ratings), 3),
            "reasons": {code: sum(code in answer.get("reasons", []) for answer in answers) for code in REASONS}}


def expected_report(answers: list[dict[str, Any]], day: dt.date, branch: str | None = None) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for answer in answers:
        if local_day(answer) == day and branch in (None, answer["branch"]):
            groups[answer["branch"]][answer.get("service", "")].append(answer)
    return [{"branch": name, **figures([a for service in services.values() for a in service]),
             "services": [{"service": service, **figures(services[service])} for service in sorted(services)]}
            for name, services in sorted(groups.items())]


@pytest.fixture
def answered(backend) -> list[dict[str, Any]]:
    answers = generated_answers()
    client = BackendClient(backend.url, KIOSK, timeout_s=2)
    try:
        for n, answer in enumerate(answers):
            client.submit_survey(f"survey-report-{n:04d}", answer)
    finally:
        client.close()
    return answers


@pytest.mark.stores
def test_the_report_has_each_branch_and_service_figures_of_the_local_day(backend, answered):
    body = report(backend.url, day=DAY.isoformat()).json()
    assert body["day"] == DAY.isoformat() and body["reasons"] == list(REASONS)
    assert body["branches"] == expected_report(answered, DAY)
    assert {b["branch"] for b in body["branches"]} == {HOAN_KIEM, BA_DINH}
    only = report(backend.url, day=DAY.isoformat(), branch=BA_DINH).json()
    assert only["branches"] == expected_report(answered, DAY, BA_DINH) and len(only["branches"]) == 1
    day_before = (DAY - dt.timedelta(days=1)).isoformat()
    assert [b["count"] for b in report(backend.url, day=day_before).json()["branches"]] == [1]
    assert report(backend.url, day="2020-01-01").json()["branches"] == []


@pytest.mark.stores
def test_the_csv_has_a_total_row_per_branch_then_its_services(backend, answered):
    response = report(backend.url, path="/api/reports/surveys.csv", day=DAY.isoformat())
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())  # spreadsheets then read the Vietnamese right
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert list(rows[0]) == ["day", "branch", "service", "count", "average", "satisfied_share", *REASONS]
    expected = []
    for branch in expected_report(answered, DAY):
        for service, figure in [("*", branch), *((s["service"], s) for s in branch["services"])]:
            expected.append({"day": DAY.isoformat(), "branch": branch["branch"], "service": service,
                             "count": figure["count"], "average": figure["average"],
                             "satisfied_share": figure["satisfied_share"], **figure["reasons"]})
    parsed = [{**row, "count": int(row["count"]), "average": float(row["average"]),
               "satisfied_share": float(row["satisfied_share"]), **{code: int(row[code]) for code in REASONS}}
              for row in rows]
    assert parsed == expected


# -- refusals ---------------------------------------------------------------------------------------------------------
VALID = {"rating": 4, "reasons": ["guidance"], "service": "HT", "counter": 3, "kind": "ticket", "branch": HOAN_KIEM,
         "answered_at": at(9).isoformat()}


@pytest.mark.stores
@pytest.mark.parametrize(("body", "key"), [
    ({**VALID, "rating": 0}, "rating"), ({**VALID, "rating": 6}, "rating"), ({**VALID, "rating": "5"}, "rating"),
    ({**VALID, "rating": 4.5}, "rating"), ({**VALID, "reasons": ["rude"]}, "reasons.0"),
    ({**VALID, "reasons": ["guidance", "guidance"]}, "reasons"), ({**VALID, "service": "hộ tịch"}, "service"),
    ({**VALID, "counter": 0}, "counter"), ({**VALID, "kind": "survey"}, "kind"), ({**VALID, "branch": ""}, "branch"),
    ({**VALID, "branch": "=HYPERLINK(\"http://x\")"}, "branch"), ({**VALID, "answered_at": "2026-11-24T09:00:00"},
                                                                  "answered_at"),
    ({**VALID, "answered_at": (dt.datetime.now(LOCAL_TZ) + dt.timedelta(days=3)).isoformat()}, "answered_at"),
    ({**VALID, "applicant_phone": "0912345678"}, "applicant_phone"),
    ({key: value for key, value in VALID.items() if key != "rating"}, "rating"), ([VALID], "(body)"),
])
def test_bad_answers_are_refused_with_a_message_naming_the_key(backend, body, key):
    client = BackendClient(backend.url, KIOSK, timeout_s=2)
    try:
        with pytest.raises(BackendRejected) as refused:
            client.submit_survey("survey-bad-0001", body)
    finally:
        client.close()
    assert refused.value.status == 422 and refused.value.message.startswith(f"{key}:")


@pytest.mark.stores
def test_a_key_counts_once_and_cannot_carry_another_answer(backend):
    client = BackendClient(backend.url, KIOSK, timeout_s=2)
    try:
        first = client.submit_survey("survey-once-0001", VALID)
        assert client.submit_survey("survey-once-0001", VALID) == first
        with pytest.raises(BackendRejected) as conflict:
            client.submit_survey("survey-once-0001", {**VALID, "rating": 1})
        assert conflict.value.status == 409
        with pytest.raises(BackendRejected) as keyless:
            client.submit_survey("short", VALID)
        assert keyless.value.status == 400
    finally:
        client.close()
    assert report(backend.url, day=DAY.isoformat()).json()["branches"][0]["count"] == 1


@pytest.mark.stores
@pytest.mark.parametrize("path", ["/api/reports/surveys", "/api/reports/surveys.csv"])
def test_only_a_report_token_or_an_administrator_reads_the_reports(backend, path):
    assert report(backend.url, READER, path, day=DAY.isoformat()).status_code == 200
    assert report(backend.url, KIOSK, path, day=DAY.isoformat()).status_code == 403
    assert report(backend.url, "", path).status_code == 401
    for day in ("2026-13-01", "yesterday", "2026-2-3"):
        refused = report(backend.url, path=path, day=day)
        assert refused.status_code == 422 and refused.json()["message"].startswith("day:")
    assert report(backend.url, path=path).status_code == 200, "without a day: today"


@pytest.mark.stores
def test_openapi_documents_the_survey_routes(backend):
    spec = httpx.get(f"{backend.url}/openapi.json").json()
    assert {"/api/surveys", "/api/reports/surveys", "/api/reports/surveys.csv"} <= set(spec["paths"])
    assert spec["components"]["schemas"]["SurveyAnswer"]["properties"]["reasons"]["items"]["enum"] == list(REASONS)
