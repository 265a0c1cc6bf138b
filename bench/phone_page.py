"""The citizen's phone pages on a cheap Android over 3G: bytes on the wire and time to interactive.

A branch queue server with its phone queue (SMS to a simulator spool in a temporary directory) runs on 127.0.0.1
as the tests run it; one number is taken from a phone through the API. Headless Chromium (Debian's
``/usr/bin/chromium`` through playwright) opens each page cold (a new browser context: empty cache) at 412×915
with Chrome DevTools' throttling: ``Network.emulateNetworkConditions`` 1.6 Mbps down, 750 kbps up, 300 ms round
trip (DevTools' "Fast 3G"), and ``Emulation.setCPUThrottlingRate`` 4× (a low-end phone's CPU). Per page:

* bytes: every response's ``encodedDataLength`` (headers and gzip-compressed body as sent), the page's own files
  and its API answers, until it is interactive; goal ≤ 60 KB;
* interactive: from navigation start until the citizen can act — ``/phone``: the service buttons are drawn and
  enabled; ``/phone/t/<token>``: the number and its check-in QR are drawn; goal ≤ 3 s.

Usage: ``python bench/phone_page.py [--runs 3]``; prints one line per page and run, then the medians, and a JSON
summary on the last line.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.server import free_port, serve_in_thread  # noqa: E402
from config.services import ServiceDef  # noqa: E402
from contracts.sms import SimulatedGateway, read_simulated  # noqa: E402
from queueing.engine import QueueEngine  # noqa: E402
from queueing.server import create_app  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
ANDROID = {"width": 412, "height": 915}
FAST_3G = {"offline": False, "latency": 300, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}
CPU_SLOWDOWN = 4
BUDGET_BYTES = 60 * 1024
BUDGET_S = 3.0
PHONE = "0912345678"
# Records (in page time, ms since navigation start) when the page first shows what makes it usable.
READY_WATCH = """window.readyAt = null;
new MutationObserver(() => {
  if (window.readyAt !== null) return;
  const services = document.querySelector('#services button:not([disabled])');
  const qr = document.querySelector('#qr svg');
  if (services || qr) window.readyAt = performance.now();
}).observe(document, {subtree: true, childList: true});"""


def start_centre(spool: Path, db: Path) -> tuple[str, Any]:
    services = [ServiceDef(code="HT", name_vi="Hộ tịch", name_en="Civil status", prefix="A", counters=[1, 2],
                           hours="always"),
                ServiceDef(code="CT", name_vi="Cư trú", prefix="B", digits=4, counters=[3], hours="always")]
    engine = QueueEngine(db, services)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(engine, counter_passwords={}, title="Trung tâm Phục vụ hành chính công quận Hoàn Kiếm",
                     sms=SimulatedGateway(spool), public_url=url)
    return url, (serve_in_thread(app, port=port, name="queue-server"), engine)


def take_number(url: str, spool: Path) -> str:
    """A number taken from a phone as the page takes it; returns its page token."""
    with httpx.Client(base_url=url, timeout=10) as client:
        client.post("/api/phone/otp", json={"phone": PHONE, "service": "HT"}).raise_for_status()
        deadline = time.monotonic() + 10
        while not (messages := read_simulated(spool)) and time.monotonic() < deadline:
            time.sleep(0.05)
        match = re.search(r"\b[0-9]{6}\b", messages[0]["text"]) if messages else None
        if match is None:
            raise SystemExit("no one-time code reached the SMS simulator's spool")
        made = client.post("/api/phone/tickets", json={"phone": PHONE, "otp": match[0], "service": "HT"})
        made.raise_for_status()
        return made.json()["token"]


def measure(browser: Any, url: str) -> dict[str, float]:
    """One cold load of ``url`` on a throttled phone: bytes until interactive, and the time to interactive."""
    context = browser.new_context(viewport=ANDROID, is_mobile=True, has_touch=True, device_scale_factor=2,
                                  locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", FAST_3G)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
        sizes: dict[str, float] = {}
        cdp.on("Network.loadingFinished", lambda event: sizes.__setitem__(event["requestId"],
                                                                          event["encodedDataLength"]))
        page.add_init_script(READY_WATCH)
        page.goto(url)
        page.wait_for_function("window.readyAt !== null", timeout=30_000)
        ready_ms = page.evaluate("window.readyAt")
        page.wait_for_timeout(200)  # responses that finished with the ready frame are counted too
        return {"bytes": sum(sizes.values()), "requests": len(sizes), "interactive_s": ready_ms / 1000}
    finally:
        context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="cold loads per page (default 3)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not CHROMIUM.exists():
        print(f"needs Debian's chromium at {CHROMIUM} (scripts/bootstrap.sh)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        spool = Path(tmp) / "sms-sim"
        url, (running, engine) = start_centre(spool, Path(tmp) / "queue.db")
        try:
            pages = {"/phone": f"{url}/phone", "/phone/t/<token>": f"{url}/phone/t/{take_number(url, spool)}"}
            results: dict[str, list[dict[str, float]]] = {name: [] for name in pages}
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
                try:
                    for run in range(1, args.runs + 1):
                        for name, page_url in pages.items():
                            figures = measure(browser, page_url)
                            results[name].append(figures)
                            print(f"run {run} {name:18} {figures['bytes'] / 1024:6.1f} KB in {figures['requests']:.0f} "
                                  f"responses, interactive after {figures['interactive_s']:.2f} s")
                finally:
                    browser.close()
        finally:
            running.stop()
            engine.close()
    summary = {}
    for name, runs in results.items():
        kb = statistics.median(r["bytes"] for r in runs) / 1024
        tti = statistics.median(r["interactive_s"] for r in runs)
        summary[name] = {"kb": round(kb, 1), "interactive_s": round(tti, 2),
                         "within_budget": kb * 1024 <= BUDGET_BYTES and tti <= BUDGET_S}
        print(f"median {name:18} {kb:6.1f} KB (budget {BUDGET_BYTES // 1024}), interactive {tti:.2f} s "
              f"(budget {BUDGET_S:.0f} s)")
    print(json.dumps({"network": "1.6 Mbps / 750 kbps / 300 ms RTT", "cpu_slowdown": CPU_SLOWDOWN,
                      "runs": args.runs, "pages": summary}))
    return 0 if all(page["within_budget"] for page in summary.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
