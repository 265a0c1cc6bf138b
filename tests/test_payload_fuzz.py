"""A bounded run of bench/fuzz_payloads.py: 2,000 seeded random and mutated payloads keep the parser's contract.

``parse_payload`` runs on the scanner's reader thread, where one exception stops the thread for good; these
inputs must each give a known ``kind``, JSON-ready output, and no echo of unrecognised input.
"""

from __future__ import annotations

import time

import pytest

from bench.fuzz_payloads import SEEDS, generate, problem
from devices.payloads import parse_payload

SEED = 20251120
COUNT = 2_000


def test_two_thousand_seeded_payloads_keep_the_contract_quickly():
    sources: set[str] = set()
    failures = []
    started = time.monotonic()
    for index, (source, payload) in enumerate(generate(SEED, COUNT)):
        sources.add(source)
        try:
            issue = problem(parse_payload(payload))
        except Exception as exc:  # noqa: BLE001 — any exception is a failure to report with its input
            issue = f"raised {type(exc).__name__}: {exc}"
        if issue:
            failures.append(f"#{index} ({source}) {payload!r:.100}: {issue}")
    elapsed = time.monotonic() - started
    assert not failures, "\n".join(failures[:10])
    assert sources == {"real-shaped", "random bytes", "random printable", "random unicode str",
                       "mutated real-shaped"}
    # ~50 times the usual 0.1 s: catches a parser gone quadratic, not a busy machine (speed: bench/fuzz_payloads.py)
    assert elapsed < 5, f"{COUNT} payloads took {elapsed:.1f} s"


def test_the_generator_is_reproducible_and_its_seeds_are_recognised():
    assert list(generate(SEED, 300)) == list(generate(SEED, 300))
    kinds = [parse_payload(seed)["kind"] for seed in SEEDS]
    assert kinds == ["cccd", "cccd", "dossier", "dossier", "dossier", "booking", "vietqr", "vietqr", "vietqr",
                     "dossier", "ticket", "booking", "dossier"]
    assert parse_payload(SEEDS[0])["valid"] and parse_payload(SEEDS[6])["crc_ok"]


@pytest.mark.parametrize(("payload", "kind"), [
    ("http://[abc/ho-so?code=000.00.13.H26-251120-0001", "unknown"),  # urlsplit: "Invalid IPv6 URL"
    ("HTTP://]CC.EXAMPLE.VN[/t/AbC123xyz", "unknown"),
    ("https://a\uff03b/x?code=000.00.13.H26-251120-0001", "unknown"),  # fullwidth "#" in the host (NFKC check)
    ("000201010\u00b91238560010A000000727", "vietqr"),  # "0¹" passes str.isdigit() but not int()
    ("https://dat-lich.example.vn/booking/", "unknown"),  # a booking path with no code after it
])
def test_inputs_the_fuzzer_found_crashing_the_parser(payload, kind):
    """GIVEN a payload that once raised WHEN it is parsed THEN it is classified: a broken link is no link, and a
    code inside it is not cut out of it."""
    result = parse_payload(payload)
    assert problem(result) is None
    assert result["kind"] == kind
