"""Fuzz the scan parser: random and mutated payloads through ``devices.payloads.parse_payload``.

A scanner can send anything, and ``parse_payload`` runs on the scanner's reader thread: an exception there ends
the thread (pyserial's ``ReaderThread`` stops on the first error) and the kiosk stops hearing scans until it is
restarted. So every input must give a dict with a known ``kind`` that serialises to JSON, and ``unknown``
results must not echo the input (it may be personal data). Inputs, from a seeded generator:

* random bytes (mostly short, some beyond the 4,096-byte cap), random printable text, random Unicode strings
  (lone surrogates included: ``scan-parse`` and the dev-mode box hand over ``str``);
* real-shaped payloads — a CCCD QR, dossier codes (national and a kiosk's offline reference), VietQR strings
  from ``build_vietqr``, a booking code, links —
  mutated: bytes flipped, inserted, deleted, duplicated, spliced with another payload, truncated, wrapped in
  scanner noise (AIM prefix, BOM, CR/LF, NUL padding), turned into mojibake or a legacy code page.

Reports payloads/s and the slowest single input; baseline in the same run: ``decode_scan`` (the text clean-up
every payload goes through) alone on the same inputs. ``tests/test_payload_fuzz.py`` runs a bounded version.
Usage: ``python bench/fuzz_payloads.py [--count 100000] [--seed 20251120] [--max-seconds 120]``.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import string
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devices.payloads import build_vietqr, parse_payload  # noqa: E402
from devices.payloads.text import MAX_PAYLOAD, decode_scan  # noqa: E402

KINDS = {"cccd", "dossier", "booking", "vietqr", "ticket", "unknown"}
UNKNOWN_KEYS = {"kind", "reason", "problems", "length", "truncated"}  # nothing from the input itself
SLOW_CANDIDATES, RETIMES = 20, 5
CCCD = "001190012345|123456789|Lê Thị Hoa|12051990|Nữ|Số 5 Hàng Gai, Hoàn Kiếm, Hà Nội|15062021"
SEEDS = [
    CCCD,
    "001090012345||Nguyễn Văn An|01011990|Nam|Hà Nội|15082021|extra|fields",
    "000.00.13.H26-251120-0001", "000.A0.01.H26-240115-0001", "KS.K01-251124-000123",
    "BK-251120-DEMO01",
    build_vietqr("970415", "113000006868", 50000, "LP 0000013H26 251120 0001"),
    build_vietqr("970436", "0011004123456", None, None),
    build_vietqr("970418", "12345678901234567", 1250000, "Lệ phí hộ tịch", service="QRIBFTTC"),
    "https://dichvucong.hanoi.gov.vn/tra-cuu?ma_ho_so=000.00.13.H26-251120-0001",
    "https://kiosk.example.vn/t/AbC123xyz_-9",
    "https://dat-lich.example.vn/booking/BK-251120-DEMO01",
    "http://hcc.example.vn/ho-so/000.00.13.H26-251120-0002/",
]
NOISE = ["|", "-", ".", "0", "9", "\r\n", "\n", "\t", "\x00", "\xff", "]Q1", "\ufeff", "%", "?", "=", "/", "[", "]",
         "://", "6304", "000201", "A000000727", "ễ", "Đ", "\u2028", "０", "＃", " "]
VIET = ("ăâđêôơưĂÂĐÊÔƠƯáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩị"
        "óòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ")


def _random_bytes(rng: random.Random) -> bytes:
    size = rng.randint(MAX_PAYLOAD - 50, MAX_PAYLOAD + 200) if rng.random() < 0.02 else rng.randint(0, 300)
    return rng.randbytes(size)


def _random_text(rng: random.Random) -> bytes:
    alphabet = string.printable + VIET + "|||||----...."
    return "".join(rng.choices(alphabet, k=rng.randint(0, 200))).encode("utf-8")


def _random_unicode(rng: random.Random) -> str:
    """Code points from the whole range, surrogates included (``str`` input is encoded with surrogatepass)."""
    return "".join(chr(rng.choice((rng.randint(0, 0x7F), rng.randint(0x80, 0x2FFF), rng.randint(0xD800, 0xDFFF),
                                   rng.randint(0xE000, 0x10FFFF)))) for _ in range(rng.randint(0, 80)))


def _mutate_once(rng: random.Random, data: bytearray) -> bytearray:
    at = rng.randint(0, len(data))
    op = rng.randrange(11)
    if op == 0 and data:  # flip a byte
        data[min(at, len(data) - 1)] = rng.randrange(256)
    elif op == 1:  # insert noise
        data[at:at] = rng.choice(NOISE).encode("utf-8", "surrogatepass")
    elif op == 2:  # delete a span
        del data[at:at + rng.randint(1, 8)]
    elif op == 3:  # duplicate a span
        data[at:at] = data[at:at + rng.randint(1, 16)] * rng.randint(1, 4)
    elif op == 4:  # splice with another payload
        other = rng.choice(SEEDS).encode("utf-8")
        data[at:] = other[rng.randint(0, len(other)):]
    elif op == 5:  # truncate
        del data[at:]
    elif op == 6:  # scanner framing and padding
        data[:0] = rng.choice([b"]Q1", b"\xef\xbb\xbf", b"\x00\x00", b"\r\n", b""])
        data += rng.choice([b"\r\n", b"\r", b"\x00" * rng.randint(1, 8), b"\t", b""])
    elif op == 7:  # keyboard-wedge mojibake: UTF-8 bytes read as cp1252, sent again as UTF-8
        data[:] = bytes(data).decode("cp1252", "replace").encode("utf-8")
    elif op == 8:  # legacy Vietnamese code page
        data[:] = bytes(data).decode("utf-8", "replace").encode("cp1258", "replace")
    elif op == 9:  # case change
        data[:] = bytes(data).swapcase()
    elif data:  # repeat to a long payload (runaway scanner, truncation path)
        data[:] = bytes(data) * rng.randint(2, 2 * MAX_PAYLOAD // len(data) + 2)
    return data


def _mutated(rng: random.Random) -> bytes:
    data = bytearray(rng.choice(SEEDS).encode("utf-8"))
    for _ in range(rng.randint(1, 4)):
        data = _mutate_once(rng, data)
    return bytes(data)


GENERATORS = (("random bytes", _random_bytes, 20), ("random printable", _random_text, 20),
              ("random unicode str", _random_unicode, 10), ("mutated real-shaped", _mutated, 50))


def generate(seed: int, count: int) -> Iterator[tuple[str, bytes | str]]:
    """``count`` (source, payload) pairs: the unmutated seeds first, then the mix above, reproducible by seed."""
    rng = random.Random(seed)
    names = [name for name, _, _ in GENERATORS]
    makers = {name: maker for name, maker, _ in GENERATORS}
    weights = [weight for _, _, weight in GENERATORS]
    for i in range(count):
        if i < len(SEEDS):
            yield "real-shaped", SEEDS[i]
            continue
        name = rng.choices(names, weights)[0]
        yield name, makers[name](rng)


def problem(result: Any) -> str | None:
    """What is wrong with one ``parse_payload`` result (None when it keeps the contract)."""
    if not isinstance(result, dict) or result.get("kind") not in KINDS:
        return f"no valid kind: {result!r:.80}"
    try:
        json.dumps(result, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return f"not JSON-serialisable: {exc}"
    kind = result["kind"]
    if kind == "unknown" and not set(result) <= UNKNOWN_KEYS:
        return f"unknown result carries {sorted(set(result) - UNKNOWN_KEYS)}"
    if kind == "unknown" and not (result.get("problems") and result["reason"] == result["problems"][0]):
        return "unknown without its reason first in problems"
    if kind in ("cccd", "vietqr") and result.get("valid") is not (result.get("problems") == []):
        return f"{kind} whose valid flag disagrees with its problems"
    if kind in ("dossier", "booking") and not isinstance(result.get("code"), str):
        return f"{kind} without a code"
    if kind == "vietqr" and not (isinstance(result.get("crc_ok"), bool)
                                 and (result.get("amount") is None or isinstance(result["amount"], int))):
        return "vietqr crc_ok/amount of the wrong type"
    if kind == "cccd" and not (isinstance(result.get("id"), str) and len(result["id"]) == 12
                               and isinstance(result.get("valid"), bool)):
        return "cccd without a 12-digit id or a valid flag"
    if kind == "ticket" and not isinstance(result.get("ticket_id"), str):
        return "ticket without a ticket_id"
    return None


def run(seed: int, count: int, max_seconds: float) -> dict[str, Any]:
    """Parse and check up to ``count`` payloads (fewer if ``max_seconds`` runs out); failures are collected."""
    failures: Counter[str] = Counter()
    examples: dict[str, str] = {}
    kinds: Counter[str] = Counter()
    parse_s = clean_s = 0.0
    slowest: list[tuple[float, int, str, bytes | str]] = []  # heap of the SLOW_CANDIDATES slowest first timings
    done = 0
    stop = time.monotonic() + max_seconds
    for index, (source, payload) in enumerate(generate(seed, count)):
        if time.monotonic() > stop:
            break
        started = time.perf_counter()
        decode_scan(payload)
        clean_s += time.perf_counter() - started
        started = time.perf_counter()
        try:
            result = parse_payload(payload)
        except Exception as exc:  # noqa: BLE001 — the point of fuzzing: count every kind of crash
            elapsed, issue = time.perf_counter() - started, f"raised {type(exc).__name__}: {exc}"
        else:
            elapsed, issue = time.perf_counter() - started, problem(result)
            kinds[result.get("kind") if isinstance(result, dict) else "?"] += 1
        parse_s += elapsed
        heapq.heappush(slowest, (elapsed, index, source, payload))
        if len(slowest) > SLOW_CANDIDATES:
            heapq.heappop(slowest)
        if issue:
            key = issue.split(":")[0] if issue.startswith("raised") else issue
            failures[key] += 1
            examples.setdefault(key, f"#{index} ({source}) {payload!r:.120} -> {issue}")
        done += 1
    return {"done": done, "parse_s": parse_s, "clean_s": clean_s, "first_slowest": max(slowest),
            "slowest": retime(slowest), "kinds": kinds, "failures": failures, "examples": examples}


def retime(candidates: list[tuple[float, int, str, bytes | str]]) -> tuple[float, int, str, int]:
    """The slowest input for real: a single timing on a shared machine can be a scheduler pause, so the slowest
    candidates are timed again and each keeps its best of RETIMES; returns (seconds, index, source, length)."""
    best = []
    for _, index, source, payload in candidates:
        times = []
        for _ in range(RETIMES):
            started = time.perf_counter()
            try:
                parse_payload(payload)
            except Exception:  # noqa: BLE001 — already counted as a failure
                pass
            times.append(time.perf_counter() - started)
        best.append((min(times), index, source, len(payload)))
    return max(best)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="payloads (default 100,000)")
    parser.add_argument("--seed", type=int, default=20251120)
    parser.add_argument("--max-seconds", type=float, default=120, help="stop early after this long")
    args = parser.parse_args()
    out = run(args.seed, args.count, args.max_seconds)
    done = out["done"]
    print(f"{done:,} payloads (seed {args.seed}); kinds: "
          + ", ".join(f"{kind} {n:,}" for kind, n in out["kinds"].most_common()))
    print(f"parse_payload: {done / out['parse_s']:,.0f} payloads/s, mean {out['parse_s'] / done * 1e6:.1f} µs")
    print(f"baseline, decode_scan alone: {done / out['clean_s']:,.0f} payloads/s, mean "
          f"{out['clean_s'] / done * 1e6:.1f} µs (parse = {out['parse_s'] / out['clean_s']:.1f}× the clean-up)")
    elapsed, index, source, size = out["slowest"]
    print(f"slowest input: {elapsed * 1000:.2f} ms, best of {RETIMES} (#{index}, {source}, {size:,} bytes); "
          f"slowest single timing in the pass {out['first_slowest'][0] * 1000:.2f} ms (#{out['first_slowest'][1]})")
    failed = sum(out["failures"].values())
    print(f"contract violations: {failed:,}" + ("" if failed else " (no exception, valid kind, JSON-serialisable)"))
    for key, n in out["failures"].most_common():
        print(f"  {n:,} × {out['examples'][key]}")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
