"""Soak: thousands of simulated citizen sessions through the real kiosk app, headless, measured every N sessions.

The app is the real one (``KioskApp`` over ``KioskCore``, SDL's offscreen window at 1080×1920, software GL),
driven by real touches through Kivy's input path (:class:`tests.ui.driver.KioskDriver`) and scans through the
simulated scanner's TCP port, as the UI tests drive it. The sessions rotate through every citizen flow: a queue
number, the help button, a typed and a scanned look-up, a filing with a CCCD scan, a survey, the idle warning and
reset, a session in English, one in large text and high contrast. Now and then the simulated printer runs out of
paper (its control file) and the backend drops out: a real backend (uvicorn on a thread, its own SQLite file) is
stopped and started again on the same port, so look-ups answer from the cache or "try later" and filings wait in
the outbox until it is back.

Time: the kiosk's idle clock is a fake one the bench moves; a simulated *day* passes every ``--per-day`` sessions
(100 by default: 10,000 sessions are about three months). Each day the printed jobs are dated to it and the
kiosk's retention runs against it, so the data files show what the ``[retention]`` rules keep bounded.

Every ``--every`` sessions it records RSS (and its anonymous part), glibc's heap in use and held free, open file
descriptors, threads (Python's and the kernel's, which include Mesa's rasterizer threads), the size of each
SQLite file and of the spool, Kivy's texture and image cache entries, the widgets in the window and gc-tracked
objects; then writes JSON and a PNG of the series (PIL). Bounded by ``--sessions`` and ``--max-seconds``. The
process is prepared as the kiosk's runner prepares it (fixed mmap threshold, GL flushed at each flip);
``--kinds`` loops chosen kinds of session, which shows far sooner which flow a growth comes with.

Usage: ``python bench/soak.py --sessions 10000 --every 500 --out artifacts/soak.json --plot docs/soak.png``;
``python bench/soak.py --sessions 150 --every 25 --kinds look_up --size 540x960``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.localtime import LOCAL_TZ  # noqa: E402
from devices.sim.printer import set_fault  # noqa: E402
from devices.sim.scanner import send_payload  # noqa: E402
from tests.support import FakeClock, eventually  # noqa: E402

DOSSIERS = [f"000.00.13.H26-251120-000{n}" for n in (1, 2, 3, 4)]
UNKNOWN = "000.00.13.H26-251120-0999"
CCCD = "001190012345|123456789|Lê Thị Hoa|12051990|Nữ|Số 5 Hàng Gai, Hoàn Kiếm, Hà Nội|15062021"
PATIENCE_S = 180.0  # a real hang still ends the run; a starved CPU does not
# the sessions in turn (methods of Citizen): numbers are the commonest, so they come twice
ROTATION = ("take_number", "look_up", "file_dossier", "scan_look_up", "survey", "help_button", "in_english",
            "take_number", "idle_reset", "large_text")
KINDS = tuple(dict.fromkeys(ROTATION))


# -- the process ----------------------------------------------------------------------------------------------------
def proc_status(field: str) -> int:
    """A number from /proc/self/status (``VmRSS`` in kB, ``Threads``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def data_files(data_dir: Path) -> dict[str, int]:
    """Bytes of each SQLite file (with its WAL) in the kiosk's data directory, and of the spool."""
    sizes: dict[str, int] = {}
    for path in sorted(data_dir.rglob("*.db*")):
        if "backend-server" not in path.parts:
            name = str(path.relative_to(data_dir)).removesuffix("-wal").removesuffix("-shm")
            sizes[name] = sizes.get(name, 0) + path.stat().st_size
    spool = [p for p in (data_dir / "spool").glob("job-*")]
    sizes["spool"] = sum(p.stat().st_size for p in spool)
    sizes["spool files"] = len(spool)
    return sizes


def sample(sessions: int, data_dir: Path, started: float) -> dict[str, Any]:
    from kivy.cache import Cache
    from kivy.core.window import Window

    from screens.native_heap import heap_figures

    gc.collect()
    return {
        "sessions": sessions,
        "seconds": round(time.monotonic() - started, 1),
        "rss_mib": round(proc_status("VmRSS") / 1024, 1),
        "rss_anon_mib": round(proc_status("RssAnon") / 1024, 1),
        **heap_figures(),
        "fds": len(os.listdir("/proc/self/fd")),
        "threads": proc_status("Threads"),
        "py_threads": threading.active_count(),
        "textures": len(Cache._objects.get("kv.texture", {})),
        "images": len(Cache._objects.get("kv.image", {})),
        "widgets": sum(1 for _ in Window.children[0].walk()) if Window.children else 0,
        "gc_objects": len(gc.get_objects()),
        "files": data_files(data_dir),
    }


# -- the backend that drops out ---------------------------------------------------------------------------------------
class DroppingBackend:
    """A real backend on a fixed 127.0.0.1 port that :meth:`drop` stops and :meth:`restore` starts again."""

    def __init__(self, db: Path, kiosk_id: str) -> None:
        from backend.server import free_port, open_store

        self.store = open_store(db)
        self.token = self.store.add_token("kiosk", kiosk_id)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._running: Any = None
        self.restore()

    @property
    def up(self) -> bool:
        return self._running is not None

    def restore(self) -> None:
        from backend.app import BackendSettings, create_app
        from backend.server import DEMO_BANK, serve_in_thread

        if self._running is None:
            app = create_app(self.store, BackendSettings(**DEMO_BANK))
            self._running = serve_in_thread(app, port=self.port, name="soak-backend")

    def drop(self) -> None:
        if self._running is not None:
            self._running.stop()
            self._running = None


# -- the sessions ---------------------------------------------------------------------------------------------------
class Citizen:
    """One session of each kind, by touch and scan; each ends on the home screen."""

    def __init__(self, kiosk: Any, clock: FakeClock) -> None:
        self.kiosk, self.clock = kiosk, clock
        self.app = kiosk.app
        self.outcomes: dict[str, int] = {}

    def until(self, condition: Callable[[], object], what: str) -> Any:
        """Frames until ``condition``; patient, since a soak shares its machine with everything else for hours."""
        return eventually(condition, timeout=PATIENCE_S, between=lambda: self.kiosk.frames(1), message=what)

    def ended(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def home(self) -> None:
        self.app.go_home()
        self.kiosk.frames(1)

    def keys(self, board: Any) -> dict[str, Any]:
        return {button.key: button for row in board.children for button in row.children}

    def type_on(self, board: Any, text: str) -> None:
        keys = self.keys(board)
        for char in text:
            self.kiosk.tap(keys[char])

    def take_number(self, n: int) -> None:
        kiosk = self.kiosk
        kiosk.tap(kiosk.screen.ids.queue)
        queue = kiosk.screen
        rows = self.until(lambda: {w.code: w for w in queue.ids.services.children[0].children
                                   if getattr(w, "code", "")}, "the service list")
        kiosk.tap(rows["HT" if n % 2 else "CT"])
        self.until(lambda: kiosk.screen.name in ("ticket", "home"), "the ticket")
        if kiosk.screen.name == "ticket":
            ticket = kiosk.screen
            self.until(lambda: ticket.print_state in ("printed", "failed"), "the print outcome")
            self.ended(f"ticket {ticket.print_state}")
        else:
            self.ended("ticket refused")
        self.home()

    def help_button(self, _n: int) -> None:
        kiosk = self.kiosk
        kiosk.tap(kiosk.screen.ids.help)
        self.until(lambda: kiosk.screen.name == "ticket", "the help ticket")
        self.ended("help ticket")
        self.home()

    def look_up(self, n: int) -> None:
        kiosk = self.kiosk
        kiosk.tap(kiosk.screen.ids.lookup)
        lookup = kiosk.screen
        kiosk.tap(lookup.ids.type_code)
        self.type_on(lookup.ids.keyboard, DOSSIERS[n % 4] if n % 5 else UNKNOWN)
        kiosk.tap(lookup.ids.search)
        self.until(lambda: lookup.state not in ("entry", "loading"), "the look-up's answer")
        self.ended(f"look-up {lookup.state}")
        self.home()

    def scan_look_up(self, n: int) -> None:
        kiosk = self.kiosk
        host, port = self.app.core.scanner.address
        send_payload(host, port, f"{DOSSIERS[n % 4]}\r\n".encode())
        self.until(lambda: kiosk.screen.name == "lookup" and kiosk.screen.state not in ("entry", "loading", "prompt"),
                   "the scanned look-up's answer")
        self.ended(f"scan look-up {kiosk.screen.state}")
        self.home()

    def file_dossier(self, _n: int) -> None:
        kiosk = self.kiosk
        self.until(lambda: self.app.core.catalogue is not None, "the catalogue")
        kiosk.tap(kiosk.screen.ids.submit)
        screen = kiosk.screen
        self.until(lambda: screen.state == "catalogue", "the catalogue page")
        screen.intent("open_procedure", "HT05")
        kiosk.frames(1)
        kiosk.tap(screen.ids.start)
        host, port = self.app.core.scanner.address
        send_payload(host, port, (CCCD + "\r\n").encode())
        self.until(lambda: screen.ids.form_keys.text == "Lê Thị Hoa", "the form filled from the card")
        for _ in range(4):
            kiosk.tap(screen.ids.next)
        self.type_on(screen.ids.form_keys, "0912345678")
        kiosk.tap(screen.ids.next)
        self.type_on(screen.ids.form_keys, "2")
        kiosk.tap(screen.ids.next)
        kiosk.tap(list(reversed(screen.ids.choices.children))[1])
        kiosk.tap(screen.ids.consent)
        kiosk.tap(screen.ids.submit)
        self.until(lambda: screen.state == "done", "the receipt")
        self.ended("filed offline" if screen.done.offline else "filed")
        kiosk.tap(screen.ids.finish)

    def survey(self, n: int) -> None:
        kiosk = self.kiosk
        kiosk.tap(kiosk.screen.ids.survey)
        survey = kiosk.screen
        kiosk.tap(list(reversed(survey.ids.faces.children))[n % 5])
        kiosk.tap(survey.ids.send)
        self.until(lambda: survey.thanked, "the thank-you")
        self.until(lambda: kiosk.screen.name == "home", "the way home after the thanks")
        self.ended("survey")

    def idle_reset(self, _n: int) -> None:
        kiosk, session = self.kiosk, self.app.core.config.session
        kiosk.tap(kiosk.screen.ids.lookup)
        kiosk.tap(kiosk.screen.ids.type_code)
        self.type_on(kiosk.screen.ids.keyboard, "000.00")
        self.clock.advance(session.idle_warning_s + 1)
        self.until(lambda: self.app.idle_overlay.opacity == 1, "the idle warning")
        self.clock.advance(session.idle_reset_s)
        self.until(lambda: kiosk.screen.name == "home", "the reset to the home screen")
        self.ended("idle reset")

    def in_english(self, n: int) -> None:
        self.kiosk.tap(self.kiosk.screen.ids.language)
        self.until(lambda: self.app.lang == "en", "English")
        self.look_up(n)
        self.until(lambda: self.app.lang == "vi", "Vietnamese again")

    def large_text(self, n: int) -> None:
        self.kiosk.tap(self.kiosk.screen.ids.a11y)
        if n % 2:
            self.kiosk.tap(self.kiosk.screen.ids.a11y)  # high contrast too
        self.until(lambda: self.app.text_scale > 1, "large text")
        self.take_number(n)
        self.until(lambda: self.app.text_scale == 1.0, "the standard look again")


# -- the run ------------------------------------------------------------------------------------------------------
def start_app(data_dir: Path, backend: DroppingBackend, size: tuple[int, int], native_tuning: bool = True
              ) -> tuple[Any, Any, FakeClock]:
    from config.loader import load_config
    from screens.kivy_env import prepare_kivy
    from screens.native_heap import return_large_frees

    if native_tuning:  # as screens/runner.py prepares the kiosk process (the rest below, once Kivy is imported)
        return_large_frees()

    config = load_config(None, [f"data_dir={data_dir}", "scanner.connection=sim:127.0.0.1:0",
                                f"backend.url={backend.url}", f"backend.token={backend.token}",
                                "backend.timeout_s=2", "voice.enabled=false"])
    prepare_kivy(data_dir / "kivy", width=size[0], height=size[1], fullscreen=False)
    import screens.survey
    from kiosk.core import KioskCore
    from screens.app import KioskApp
    from screens.frame_flush import flush_each_frame
    from tests.ui.driver import KioskDriver

    screens.survey.THANKS_SECONDS = 0.05  # the thank-you's pause is wall time; the soak counts sessions
    clock = FakeClock()
    core = KioskCore(config, clock=clock)
    if native_tuning:
        flush_each_frame()
    core.start()
    app = KioskApp(core)
    app._run_prepare()
    kiosk = KioskDriver(app, clock)
    kiosk.until(lambda: core.backend_client is not None, "the backend client")
    return app, kiosk, clock


class Calendar:
    """The simulated date: one day every ``per_day`` sessions; printed jobs are dated to it, retention runs on it."""

    def __init__(self, per_day: int, spool: Path) -> None:
        self.per_day, self.spool = per_day, spool
        self.today = datetime.now(LOCAL_TZ)
        self._dated: set[str] = set()

    def __call__(self) -> datetime:
        return self.today

    def date_new_jobs(self) -> None:
        stamp = self.today.timestamp()
        for job in self.spool.glob("job-*"):
            if job.name not in self._dated:
                os.utime(job, (stamp, stamp))
                self._dated.add(job.name)
        self._dated &= {job.name for job in self.spool.glob("job-*")}

    def next_day(self, retention: Any) -> None:
        self.date_new_jobs()
        self.today += timedelta(days=1)
        retention.run_once()


def soak(sessions: int, every: int, per_day: int, max_seconds: float, data_dir: Path, size: tuple[int, int],
         fault_every: int = 250, progress: Callable[[dict[str, Any]], None] = lambda _s: None,
         kinds: list[str] | None = None, native_tuning: bool = True) -> dict[str, Any]:
    from kiosk.retention import Retention

    backend = DroppingBackend(data_dir / "backend-server" / "backend.db", "HN-HK-01")
    app, kiosk, clock = start_app(data_dir, backend, size, native_tuning)
    core = app.core
    calendar = Calendar(per_day, core.config.spool_dir)
    retention = Retention(core.config, core.outbox, clock=calendar, survey=core.survey)
    citizen = Citizen(kiosk, clock)
    rotation = [getattr(citizen, name) for name in kinds or ROTATION]
    started = time.monotonic()
    samples = [sample(0, data_dir, started)]
    progress(samples[-1])
    done = 0
    try:
        while done < sessions and time.monotonic() - started < max_seconds:
            phase = done % fault_every / fault_every  # paper runs out at 40 %, the backend is away 60–70 %
            set_fault(core.config.spool_dir, "paper_out" if 0.4 <= phase < 0.44 else None)
            if 0.6 <= phase < 0.7:
                backend.drop()
            else:
                backend.restore()
            rotation[done % len(rotation)](done // len(rotation))
            done += 1
            if done % per_day == 0:
                calendar.next_day(retention)
            if done % every == 0:
                samples.append(sample(done, data_dir, started))
                progress(samples[-1])
    finally:
        set_fault(core.config.spool_dir, None)
        backend.restore()
    if samples[-1]["sessions"] != done:
        samples.append(sample(done, data_dir, started))
        progress(samples[-1])
    app.stop()
    backend.drop()
    return {"sessions": done, "seconds": round(time.monotonic() - started, 1), "outcomes": citizen.outcomes,
            "samples": samples}


# -- the figures ------------------------------------------------------------------------------------------------------
SERIES = [("rss_mib", "RSS (MiB)"), ("fds", "open fds"), ("threads", "threads (kernel)"),
          ("gc_objects", "gc objects"), ("textures", "Kivy texture cache"), ("db_kib", "SQLite files (KiB)"),
          ("spool_files", "spool files")]


def series(samples: list[dict[str, Any]], key: str) -> list[float]:
    if key == "db_kib":
        return [sum(v for k, v in s["files"].items() if not k.startswith("spool")) / 1024 for s in samples]
    if key == "spool_files":
        return [s["files"]["spool files"] for s in samples]
    return [s[key] for s in samples]


def plot(result: dict[str, Any], out: Path, title: str) -> None:
    """One small panel per series against sessions, drawn with PIL (no matplotlib on the kiosk's image)."""
    from PIL import Image, ImageDraw

    samples = result["samples"]
    xs = [s["sessions"] for s in samples]
    width, panel, margin = 900, 150, 70
    image = Image.new("RGB", (width, 40 + panel * len(SERIES)), "white")
    draw = ImageDraw.Draw(image)
    draw.text((margin, 12), title, fill="black")
    x_max = max(xs) or 1
    for row, (key, label) in enumerate(SERIES):
        ys = series(samples, key)
        top = 40 + row * panel
        box = (margin, top + 20, width - 20, top + panel - 25)
        draw.rectangle(box, outline="#888")
        low, high = min(ys), max(ys)
        pad = max((high - low) * 0.1, abs(high) * 0.02, 1.0)
        low, high = low - pad, high + pad
        draw.text((margin, top + 4), f"{label}: {ys[0]:,.1f} -> {ys[-1]:,.1f} (min {min(ys):,.1f}, max {max(ys):,.1f})",
                  fill="black")
        draw.text((8, box[1]), f"{high:,.0f}", fill="#444")
        draw.text((8, box[3] - 10), f"{low:,.0f}", fill="#444")

        def at(x: float, y: float, box: tuple[int, int, int, int] = box, low: float = low, high: float = high
               ) -> tuple[float, float]:
            return (box[0] + (box[2] - box[0]) * x / x_max, box[3] - (box[3] - box[1]) * (y - low) / (high - low))

        points = [at(x, y) for x, y in zip(xs, ys, strict=True)]
        if len(points) > 1:
            draw.line(points, fill="#1565c0", width=2)
        for px, py in points:
            draw.ellipse((px - 2, py - 2, px + 2, py + 2), fill="#1565c0")
        draw.text((box[2] - 120, box[3] + 4), f"sessions 0-{x_max:,}", fill="#444")
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out)


def summary(result: dict[str, Any], warmup: int) -> dict[str, Any]:
    """Growth after warm-up (the first sample at or past ``warmup`` sessions) to the end."""
    samples = result["samples"]
    base = next((s for s in samples if s["sessions"] >= warmup), samples[-1])
    last = samples[-1]
    after = [s for s in samples if s["sessions"] >= base["sessions"]]
    return {
        "warmup_sessions": base["sessions"],
        "rss_growth_mib": round(last["rss_mib"] - base["rss_mib"], 1),
        "fds_range": [min(s["fds"] for s in after), max(s["fds"] for s in after)],
        "threads_range": [min(s["threads"] for s in after), max(s["threads"] for s in after)],
        "files_last": last["files"],
    }


def kind_list(text: str) -> list[str]:
    """``--kinds look_up,survey``: names of :class:`Citizen`'s sessions, checked."""
    names = text.split(",")
    unknown = [name for name in names if name not in KINDS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown kind {', '.join(unknown)}; known: {', '.join(KINDS)}")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=500, help="sessions between samples")
    parser.add_argument("--per-day", type=int, default=100, help="sessions in a simulated day")
    parser.add_argument("--warmup", type=int, default=1000, help="sessions before RSS growth is counted")
    parser.add_argument("--max-seconds", type=float, default=2400)
    parser.add_argument("--out", type=Path, help="write the samples and the summary here (JSON)")
    parser.add_argument("--plot", type=Path, help="draw the series into this PNG")
    parser.add_argument("--fault-every", type=int, default=250,
                        help="sessions in one fault cycle (paper out 40-44 %%, backend away 60-70 %% of it)")
    parser.add_argument("--size", default="1080x1920", help="window WIDTHxHEIGHT (software GL: pixels cost time)")
    parser.add_argument("--data-dir", type=Path, help="the kiosk's data directory (default: a new temporary one)")
    parser.add_argument("--kinds", type=kind_list, metavar="KIND,...",
                        help=f"loop only these kinds of session (default: all in turn): {', '.join(KINDS)}")
    parser.add_argument("--no-native-tuning", dest="native_tuning", action="store_false",
                        help="run the process as before screens/native_heap.py and screens/frame_flush.py: "
                             "no fixed mmap threshold, no GL flush at each flip")
    args = parser.parse_args(argv)
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="soak-"))

    def progress(s: dict[str, Any]) -> None:
        print(json.dumps({k: v for k, v in s.items() if k != "files"}), flush=True)

    size = tuple(int(n) for n in args.size.split("x"))
    result = soak(args.sessions, args.every, args.per_day, args.max_seconds, data_dir, (size[0], size[1]),
                  args.fault_every, progress, args.kinds, args.native_tuning)
    result["size"] = args.size
    result["summary"] = summary(result, args.warmup)
    result["machine"] = f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    print(json.dumps({k: result[k] for k in ("sessions", "seconds", "outcomes", "summary")}, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))
    if args.plot:
        plot(result, args.plot, f"Soak: {result['sessions']:,} sessions in {result['seconds'] / 60:.0f} min, "
                                f"{datetime.now(LOCAL_TZ):%Y-%m-%d}, sample every {args.every}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
