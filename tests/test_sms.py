"""The SMS contract: phone numbers as people write them, masking, the simulator spool, and the eSMS adapter over
real HTTP against the protocol simulator (refusals, retries, a hanging provider)."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import httpx
import pytest

from backend.server import serve_in_thread
from contracts.secrets import SecretError
from contracts.sms import (
    ESMS_PATH,
    EsmsGateway,
    SimulatedGateway,
    SmsConfigError,
    SmsError,
    gateway_from_options,
    mask_phone,
    normalise_phone,
    read_simulated,
)
from contracts.sms_sim import EsmsSimulator

ACCEPTED = [  # how people write Vietnamese mobile numbers on forms, receipts and business cards
    ("0912345678", "0912345678"),
    ("0912 345 678", "0912345678"),
    ("0912.345.678", "0912345678"),
    ("0912-345-678", "0912345678"),
    ("091 234 5678", "0912345678"),
    ("+84912345678", "0912345678"),
    ("+84 91-234-5678", "0912345678"),
    ("+84 (0) 912 345 678", "0912345678"),
    ("(+84) 912345678", "0912345678"),
    ("84912345678", "0912345678"),
    ("0084 912 345 678", "0912345678"),
    ("  0387 654 321 ", "0387654321"),  # Viettel 03x
    ("0523456789", "0523456789"),  # Vietnamobile
    ("0559876543", "0559876543"),  # Reddi/Wintel
    ("0701234567", "0701234567"),  # MobiFone 07x
    ("0868123456", "0868123456"),  # Viettel 086
    ("0879123456", "0879123456"),  # iTel
    ("0991234567", "0991234567"),  # Gmobile
]
REFUSED = [  # (input, a word the sentence must contain)
    ("", "Enter"),
    ("   ", "Enter"),
    ("024 3825 1234", "landline"),  # a Hanoi landline
    ("+84 28 3829 1234", "landline"),  # a Ho Chi Minh City landline
    ("01689123456", "2018"),  # an old 11-digit Viettel number
    ("+84 168 912 3456", "2018"),
    ("091234567", "10 digits"),  # one short
    ("09123456789", "10 digits"),  # one long
    ("0912345678 9", "10 digits"),
    ("091234567a", "only digits"),
    ("091 234 567O", "only digits"),  # letter O for zero
    ("０９１２３４５６７８", "only digits"),  # full-width digits
    ("912345678", "starts with 0"),
    ("+1 415 555 0100", "only digits"),  # "+1…": the plus sign is not ours
    ("0302345678", "030"),  # unallocated prefix
    ("0951234567", "095"),  # S-Fone, closed
    ("1900 1234", "starts with 0"),  # a hotline
    ("0912345678; DROP TABLE", "only digits"),
]


@pytest.mark.parametrize(("typed", "stored"), ACCEPTED)
def test_normalise_accepts_real_world_formats(typed, stored):
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize(("typed", "word"), REFUSED)
def test_normalise_refuses_with_one_sentence(typed, word):
    with pytest.raises(ValueError) as refused:
        normalise_phone(typed)
    sentence = str(refused.value)
    assert word in sentence and sentence.endswith(".") and "\n" not in sentence


def test_mask_keeps_only_the_ends():
    assert mask_phone("0912345678") == "091****678"
    assert mask_phone("12345") == "*****"
    assert "2345" not in mask_phone("0912345678")


# -- the simulator spool -------------------------------------------------------------------------------------------


def test_simulated_gateway_spools_one_file_per_message_oldest_first(tmp_path):
    spool = tmp_path / "sms-sim"
    gateway = SimulatedGateway(spool)
    first = gateway.send("0912345678", "Mã xác nhận: 123456", request_id="r1")
    second = gateway.send("0387654321", "Hồ sơ đã được tiếp nhận.", request_id="r2")
    assert first != second
    messages = read_simulated(spool)
    assert [(m["phone"], m["text"], m["request_id"]) for m in messages] == [
        ("0912345678", "Mã xác nhận: 123456", "r1"), ("0387654321", "Hồ sơ đã được tiếp nhận.", "r2")]
    assert messages[0]["at"].endswith("+07:00")
    assert len(list(spool.iterdir())) == 2  # no temporary file left behind


def test_read_simulated_of_a_missing_spool_is_empty(tmp_path):
    assert read_simulated(tmp_path / "never-written") == []


def test_simulated_gateway_reports_an_unwritable_spool_as_transient(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(SmsError) as failed:
        SimulatedGateway(blocker / "sms-sim").send("0912345678", "x", request_id="r")
    assert failed.value.transient


def _spool_many(spool: str, tag: str) -> None:
    gateway = SimulatedGateway(Path(spool))
    for index in range(50):
        gateway.send("0912345678", f"{tag}-{index}", request_id=f"{tag}-{index}")


def test_several_processes_spool_into_one_directory_without_colliding(tmp_path):
    spool = tmp_path / "sms-sim"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_spool_many, args=(str(spool), f"p{n}")) for n in range(3)]
    for worker in workers:
        worker.start()
    _spool_many(str(spool), "main")
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    texts = [message["text"] for message in read_simulated(spool)]
    assert len(texts) == 200 and len(set(texts)) == 200
    for tag in ("main", "p0", "p1", "p2"):  # each writer's own messages stay in order
        own = [text for text in texts if text.startswith(f"{tag}-")]
        assert own == [f"{tag}-{index}" for index in range(50)]


# -- choosing a gateway ----------------------------------------------------------------------------------------------

KEYS = {"SMS_API_KEY": "api-key-7", "SMS_SECRET_KEY": "secret-key-9", "SMS_BRANDNAME": "HANOI"}


def test_no_url_means_the_simulator(tmp_path):
    gateway = gateway_from_options(None, tmp_path / "sms-sim", environ={})
    assert isinstance(gateway, SimulatedGateway) and str(tmp_path / "sms-sim") in str(gateway)


def test_a_url_takes_its_keys_from_the_environment(tmp_path):
    gateway = gateway_from_options("https://rest.esms.vn" + ESMS_PATH, tmp_path, environ=KEYS)
    assert isinstance(gateway, EsmsGateway)
    assert "HANOI" in str(gateway) and "key-" not in str(gateway)  # the start-up line shows no key


@pytest.mark.parametrize("missing", sorted(KEYS))
def test_a_missing_key_is_one_line_naming_it(tmp_path, missing):
    environ = {name: value for name, value in KEYS.items() if name != missing}
    with pytest.raises(SecretError) as refused:
        gateway_from_options("https://rest.esms.vn" + ESMS_PATH, tmp_path, environ=environ)
    assert missing in str(refused.value) and "\n" not in str(refused.value)


def test_a_key_file_wins_over_the_environment_and_must_be_private(tmp_path):
    key_file = tmp_path / "sms.env"
    key_file.write_text("# eSMS\nSMS_API_KEY=file-key\nSMS_SECRET_KEY = file-secret\nSMS_BRANDNAME=UBND HN\n")
    key_file.chmod(0o600)
    gateway = gateway_from_options("http://127.0.0.1:9", tmp_path, key_file=key_file,
                                   environ={"SMS_API_KEY": "env-key"})
    assert gateway._keys == {"ApiKey": "file-key", "SecretKey": "file-secret"}
    assert gateway.brandname == "UBND HN"
    key_file.chmod(0o644)
    with pytest.raises(SmsConfigError, match="chmod 600"):
        gateway_from_options("http://127.0.0.1:9", tmp_path, key_file=key_file, environ={})


@pytest.mark.parametrize("url", ["ftp://esms.vn/x", "rest.esms.vn", "https:// space", ""])
def test_a_url_that_is_not_http_is_refused(tmp_path, url):
    with pytest.raises(SmsConfigError, match="not an http"):
        gateway_from_options(url, tmp_path, environ=KEYS)


# -- the eSMS adapter against the protocol simulator on 127.0.0.1 ----------------------------------------------------


@pytest.fixture
def provider():
    simulator = EsmsSimulator()
    running = serve_in_thread(simulator.app, name="esms-sim")
    try:
        yield simulator, running.url + ESMS_PATH
    finally:
        simulator.behave()
        running.stop()


def _gateway(url: str, *, secret_key: str = "sim-secret-key", timeout_s: float = 10) -> EsmsGateway:
    return EsmsGateway(url, "sim-api-key", secret_key, "HANOI-DVC", timeout_s=timeout_s)


def test_esms_sends_unicode_with_the_brandname(provider):
    simulator, url = provider
    gateway = _gateway(url)
    sms_id = gateway.send("0912345678", "Hồ sơ 000.00.13.H26-251201-0001 đã được tiếp nhận.", request_id="d1-received")
    assert sms_id and simulator.messages == [{
        "phone": "0912345678", "text": "Hồ sơ 000.00.13.H26-251201-0001 đã được tiếp nhận.",
        "request_id": "d1-received", "brandname": "HANOI-DVC", "sms_type": "2", "is_unicode": "1", "sms_id": sms_id}]


def test_a_retry_with_the_same_request_id_is_not_sent_twice(provider):
    simulator, url = provider
    gateway = _gateway(url)
    assert gateway.send("0912345678", "a", request_id="same") == gateway.send("0912345678", "a", request_id="same")
    assert len(simulator.messages) == 1


def test_wrong_keys_are_a_refusal(provider):
    simulator, url = provider
    with pytest.raises(SmsError) as refused:
        _gateway(url, secret_key="wrong").send("0912345678", "x", request_id="r")
    assert not refused.value.transient and "101" in str(refused.value) and "key" in str(refused.value)
    assert simulator.messages == []


@pytest.mark.parametrize(("code", "transient", "words"), [
    ("99", True, "try again"), ("103", False, "balance"), ("104", False, "brandname"), ("146", False, "refused")])
def test_codes_map_to_retry_or_give_up(provider, code, transient, words):
    simulator, url = provider
    simulator.fail_code = code
    with pytest.raises(SmsError) as failed:
        _gateway(url).send("0912345678", "x", request_id="r")
    assert failed.value.transient is transient and words in str(failed.value)
    simulator.behave()
    assert _gateway(url).send("0912345678", "x", request_id="r")  # the same request goes once the fault is gone


@pytest.mark.parametrize(("status", "transient"), [(503, True), (500, True), (429, True), (404, False)])
def test_http_errors(provider, status, transient):
    simulator, url = provider
    simulator.http_status = status
    with pytest.raises(SmsError) as failed:
        _gateway(url).send("0912345678", "x", request_id="r")
    assert failed.value.transient is transient and str(status) in str(failed.value)


def test_a_hanging_provider_times_out_as_transient(provider):
    simulator, url = provider
    simulator.hang_s = 3
    with pytest.raises(SmsError) as failed:
        _gateway(url, timeout_s=0.3).send("0912345678", "x", request_id="r")
    assert failed.value.transient and "Timeout" in str(failed.value)


def test_a_provider_that_is_down_is_transient(provider):
    _, url = provider
    gateway = _gateway(url.replace(url.split("/")[2], "127.0.0.1:9"), timeout_s=2)  # the discard port: refused
    with pytest.raises(SmsError) as failed:
        gateway.send("0912345678", "x", request_id="r")
    assert failed.value.transient


@pytest.mark.parametrize(("body", "transient"), [
    (b"<html>proxy error</html>", True), (b'{"SMSID": "x"}', True), (b"[]", True)])
def test_an_answer_without_a_code_result_is_transient(body, transient):
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200, content=body)))
    with pytest.raises(SmsError) as failed:
        EsmsGateway("http://esms.test/x", "k", "s", "B", client=client).send("0912345678", "x", request_id="r")
    assert failed.value.transient is transient


def test_the_simulator_refuses_bad_requests(provider):
    simulator, url = provider
    answers = [httpx.post(url, content=b"not json").json(),
               httpx.post(url, json={"ApiKey": "sim-api-key", "SecretKey": "sim-secret-key", "Phone": "12",
                                     "Content": "x"}).json(),
               httpx.post(url, json={"ApiKey": "sim-api-key", "SecretKey": "sim-secret-key",
                                     "Phone": "0912345678", "Content": ""}).json()]
    assert [answer["CodeResult"] for answer in answers] == ["118", "118", "118"]
    assert simulator.messages == [] and simulator.requests == 3
    assert json.dumps(answers)  # plain JSON answers, as the provider's
