"""Touch to frame: the real kiosk headless at 1080×1920, real touches, the flip of the frame that shows the result.

Each citizen path is timed from a touch's release (put into a Kivy input provider the event loop polls, as a
touch screen's) to the flip of the first frame showing the result (``bench/touch_frames.py``): home → each flow,
service → ticket on screen, the filing steps, keyboard key → character shown, language and large-text switches.
A bare one-button Kivy app answering a touch is measured the same way in the same run, once with all CPUs and
once pinned to one (``--cpus``), so a machine busy with other work shows in the baseline too.

``--fault TARGET:MODE`` (or ``--faults`` for all nine) runs the citizen paths again with the backend, the branch
queue server or the network printer down, answering after 5 s, or dropping the connection mid-answer, the
citizen touching the screen all along: it reports the longest frame (also with drawing left out: what a UI thread
that waited for a socket or a device would add) and what each path ended with, which must be one of the kiosk's
own messages. ``--histogram PNG`` draws the frame-time distribution with and without faults.

``--draw-cost`` measures instead what one frame of each screen costs to draw: the screen is put up, then redrawn
in full (``on_draw``, flip, ``glFinish``) ``--redraws`` times with nothing changed, and the median wall time and
process CPU time (Mesa's rasterizer threads included, so a loaded machine moves it less) are reported against an
empty window's in the same process: where a touch's frame goes, screen by screen.
Usage: ``python bench/ui_latency.py [--rounds 3] [--cpus all,1] [--only queue] [--faults]
[--histogram docs/ui-frames.png]``,
``python bench/ui_latency.py --draw-cost [--redraws 15]``. Each child is bounded by ``--rounds`` (or
``--redraws``) and a 300 s timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.server import free_port  # noqa: E402
from kiosk.i18n import catalogue  # noqa: E402
from tests.support import FaultyServer, eventually, queue_token  # noqa: E402

SIZE = (1080, 1920)
SLOW_S = 5.0
GOAL_MS = {"key → glyph": 50.0}  # every other path: 100 ms at p95
PATH_GOAL_MS = 100.0
FRAME_GOAL_MS = 50.0
DOSSIER = "000.00.13.H26-251120-0002"
CCCD = "001190012345|123456789|Lê Thị Hoa|12051990|Nữ|Số 5 Hàng Gai, Hoàn Kiếm, Hà Nội|15062021"
TARGETS, MODES = ("backend", "queue", "printer"), ("down", "slow", "drop")
KIOSK_PATHS = ("home → queue", "service → ticket", "home → lookup", "key → glyph", "home → survey",
               "home → filing", "filing: catalogue → results", "filing: results → detail", "filing: detail → form",
               "filing: form → next step", "language switch", "large-text switch")
FAULT_PATHS = ("take a number", "look-up", "filing")
PATH_GROUPS = ("switches", "queue", "lookup", "survey", "filing")  # a round's order; ``--only`` picks some
# every screen but home, built and drawn once before the paths: a kiosk that ran for a while has them all, and
# a language or large-text switch must not be timed with fewer screens than a citizen meets
PREBUILT = ("queue", "priority", "ticket", "lookup", "survey", "submit", "checkin", "pin", "maintenance")


# -- the child processes ---------------------------------------------------------------------------------------------
def bare_child(data: Path, rounds: int) -> dict[str, Any]:
    """A one-button Kivy app, same window: each touch turns the button's number over."""
    from screens.kivy_env import prepare_kivy

    prepare_kivy(data / "kivy", width=SIZE[0], height=SIZE[1], fullscreen=False)
    from kivy.base import EventLoop
    from kivy.uix.button import Button
    from kivy.uix.floatlayout import FloatLayout
    from touch_frames import Toucher, label_shows

    root = FloatLayout()
    button = Button(text="0", font_size=60, size_hint=(0.6, 0.1), pos_hint={"center_x": 0.5, "center_y": 0.5})
    button.bind(on_release=lambda b: setattr(b, "text", str(int(b.text) + 1)))
    root.add_widget(button)
    EventLoop.ensure_window()
    EventLoop.window.add_widget(root)
    toucher = Toucher()
    toucher.frames(5)
    for n in range(rounds * 10 + 5):  # as many touches as a kiosk round has, five warm-up ones first
        text = str(int(button.text) + 1)
        toucher.tap(button, lambda text=text: label_shows(button, text), "bare app" if n >= 5 else "")
    return {"samples": toucher.samples}


class KioskPaths:
    """The citizen paths by real touches, on the kiosk that :func:`tests.ui.driver.start_kiosk` started."""

    def __init__(self, driver: Any, toucher: Any) -> None:
        from touch_frames import label_shows

        from kiosk.i18n import tr
        from screens.app import LARGE_TEXT_SCALE

        self.shows = label_shows
        self.driver, self.app, self.t = driver, driver.app, toucher
        self.tr, self.large = tr, LARGE_TEXT_SCALE
        self.ended: dict[str, str] = {}

    def on(self, name: str) -> Callable[[], bool]:
        manager = self.app.manager
        return lambda: manager.current == name and manager.current_screen.parent is not None

    def home(self) -> None:
        self.app.go_home()
        self.driver.until(lambda: self.app.lang == "vi" and self.app.text_scale == 1.0, "the home screen, reset")
        self.t.frames(2)

    def round(self, record: bool, groups: tuple[str, ...] = PATH_GROUPS) -> None:
        """One pass over the paths of ``groups`` (all by default); ``record`` False for the warm-up pass (first
        textures, first layouts)."""
        def tap(widget: Any, shows: Callable[[], bool], path: str) -> None:
            self.t.tap(widget, shows, path if record else "")

        for group in groups:
            getattr(self, group)(tap)

    def switches(self, tap: Callable[..., None]) -> None:
        app, home = self.app, self.app.manager.get_screen("home")
        switch = home.ids.language
        tap(switch, lambda: self.shows(switch, self.tr("home.switch_language", "en")), "language switch")
        self.home()
        large = app.u * self.large * 40  # the help button's font size in large-text mode
        tap(home.ids.a11y, lambda: abs(home.ids.help.font_size - large) < 0.01 and self.shows(home.ids.help),
            "large-text switch")
        self.home()

    def survey(self, tap: Callable[..., None]) -> None:
        tap(self.app.manager.get_screen("home").ids.survey, self.on("survey"), "home → survey")
        self.home()

    def queue(self, tap: Callable[..., None]) -> None:
        tap(self.app.manager.get_screen("home").ids.queue, self.on("queue"), "home → queue")
        queue = self.app.manager.current_screen
        rows = self.driver.until(lambda: {w.code: w for w in queue.ids.services.children[0].children
                                          if getattr(w, "code", "")}, "the service list")
        tap(rows["HT"], self.on("ticket"), "service → ticket")
        self.home()

    def lookup(self, tap: Callable[..., None]) -> None:
        tap(self.app.manager.get_screen("home").ids.lookup, self.on("lookup"), "home → lookup")
        lookup = self.app.manager.current_screen
        self.t.tap(lookup.ids.type_code, lambda: lookup.state == "entry")
        keys = {button.key: button for row in lookup.ids.keyboard.children for button in row.children}
        for n, char in enumerate(DOSSIER[:8]):
            typed = DOSSIER[:n + 1]
            tap(keys[char], lambda typed=typed: self.shows(lookup.ids.typed, typed), "key → glyph")
        self.home()

    def filing_steps(self, screen: Any, tap: Callable[..., None]) -> Iterator[str]:
        """Home → catalogue → a life event's results → a procedure's detail → the form, by ``tap``; yields each
        part of the filing screen reached."""
        parts = screen.ids.parts

        def at(part: str) -> Callable[[], bool]:
            return lambda: self.app.manager.current == "submit" and parts.current == part

        tap(self.app.manager.get_screen("home").ids.submit, at("catalogue"), "home → filing")
        yield "catalogue"
        tap(list(reversed(screen.ids.events.children))[0], at("results"), "filing: catalogue → results")
        yield "results"
        row = self.driver.until(lambda: next((w for w in screen.ids.result_list.walk()
                                              if getattr(w, "proc_id", "") == "HT05"), None)
                                or next((w for w in screen.ids.result_list.walk()
                                         if getattr(w, "proc_id", "")), None), "a procedure row")
        tap(row, at("detail"), "filing: results → detail")
        yield "detail"
        tap(screen.ids.start, at("form"), "filing: detail → form")
        yield "form"

    def filing(self, tap: Callable[..., None]) -> None:
        from devices.sim.scanner import send_payload

        screen = self.app.screen("submit")
        for _part in self.filing_steps(screen, tap):
            pass
        host, port = self.app.core.scanner.address
        send_payload(host, port, (CCCD + "\r\n").encode())
        self.driver.until(lambda: screen.ids.form_keys.text == "Lê Thị Hoa", "the CCCD filling the form")
        for _ in range(3):  # name → ID → date of birth → address: filled from the card
            before = screen.step.label
            tap(screen.ids.next, lambda before=before: screen.step.label != before
                and self.shows(screen.ids.step_label), "filing: form → next step")
        self.home()


def kiosk_settings(fault: str, url: str, data: Path) -> tuple[list[str], Any]:
    """The kiosk's ``--set`` words and backend for ``fault`` ("" for none), the faulty part behind ``url``.

    The printer (unless it is the faulty part) is a ``file:`` one under ``data``: the bytes go out as to a real
    printer. The default simulated printer also draws a PNG preview of every job, a development aid that costs
    the kiosk's interpreter 40–60 ms of CPU per ticket (0.1–0.2 s of wall time here), which no kiosk with a printer
    spends.
    """
    from kiosk.cli.embedded import open_backend

    settings = ["scanner.connection=sim:127.0.0.1:0", "voice.enabled=false"]
    target = fault.partition(":")[0]
    if target != "printer":
        settings.append(f"printer.connection=file:{data / 'printer.bin'}")
    if target == "backend":
        return [*settings, f"backend.url={url}"], None
    if target == "queue":
        settings += ["queue.mode=branch", f"queue.server={url}", f"queue.token={queue_token()}"]
    elif target == "printer":
        settings.append(f"printer.connection=tcp:{url.removeprefix('http://')}")
    return settings, open_backend


def kiosk_child(data: Path, rounds: int, fault: str, url: str, groups: tuple[str, ...]) -> dict[str, Any]:
    from tests.ui.driver import start_kiosk

    settings, backend = kiosk_settings(fault, url, data)
    driver = start_kiosk(data, settings, width=SIZE[0], height=SIZE[1], backend=backend, prebuilt=PREBUILT)
    from touch_frames import Toucher

    from screens.app import SCREENS

    unbuilt = set(SCREENS) - set(driver.app.manager.screen_names)
    assert not unbuilt, f"screens not built before the paths: {unbuilt} (add them to PREBUILT)"
    toucher = Toucher()
    core = driver.app.core
    if fault:
        toucher.watch.recording = True
        ended = FaultPaths(driver, toucher).run()
        return {"ended": ended, "frames": toucher.watch.frames}
    driver.until(lambda: core.backend_client is not None and core.catalogue is not None, "the embedded backend")
    paths = KioskPaths(driver, toucher)
    toucher.watch.recording = True
    for n in range(rounds + 1):
        paths.round(record=n > 0, groups=groups)
    return {"samples": toucher.samples, "frames": toucher.watch.frames}


def draw_views(paths: KioskPaths) -> Iterator[str]:
    """Put up each screen (and each state a path ends in) in turn, by real touches; yields the view's name."""
    app, tap = paths.app, paths.t.tap
    home = app.manager.get_screen("home")
    yield "home"
    for flow in ("queue", "lookup", "survey"):
        tap(home.ids[flow], paths.on(flow))
        yield flow
        if flow == "queue":  # the citizen stopped touching: the "more time?" warning over the screen
            paths.driver.clock.advance(app.core.config.session.idle_warning_s + 1)
            paths.driver.until(lambda: app.idle_overlay.opacity == 1, "the idle warning")
            yield "queue + idle warning"
        if flow == "lookup":
            lookup = app.manager.current_screen
            tap(lookup.ids.type_code, lambda lookup=lookup: lookup.state == "entry")
            yield "lookup: keyboard"
        paths.home()
    screen = app.screen("submit")
    for part in paths.filing_steps(screen, tap):
        yield f"filing: {part}"
    paths.home()


def draw_child(data: Path, redraws: int) -> dict[str, Any]:
    """Median cost of a full redraw of each view, and of an empty window, in one process."""
    import resource

    from tests.ui.driver import start_kiosk

    settings, backend = kiosk_settings("", "", data)
    driver = start_kiosk(data, settings, width=SIZE[0], height=SIZE[1], backend=backend,
                         prebuilt=("queue", "ticket", "lookup", "survey", "submit"))
    from kivy.core.window import Window  # Kivy only once the kiosk has prepared it
    from kivy.graphics.opengl import glFinish
    from touch_frames import Toucher

    core = driver.app.core
    driver.until(lambda: core.backend_client is not None and core.catalogue is not None, "the embedded backend")

    def cpu_s() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def cost() -> dict[str, float]:
        driver.frames(3)
        walls, cpus = [], []
        for _ in range(redraws + 1):  # the first one uploads what the view has new
            wall, cpu = time.perf_counter(), cpu_s()
            Window.dispatch("on_draw")
            Window.flip()
            glFinish()
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((cpu_s() - cpu) * 1000)
        return {"wall": statistics.median(walls[1:]), "cpu": statistics.median(cpus[1:])}

    root = Window.children[0]
    Window.remove_widget(root)
    views = {"empty window": cost()}
    Window.add_widget(root)
    paths = KioskPaths(driver, Toucher())
    for view in draw_views(paths):
        views[view] = cost()
    return {"views": views}


class FaultPaths(KioskPaths):
    """Take a number, a look-up and the filing catalogue while a part fails; the citizen keeps touching."""

    def until_touching(self, condition: Callable[[], object], what: str) -> object:
        """Frames until ``condition``, a short tap on the (hold-only) technician corner every few frames."""
        corner = next(w for w in self.app.root.children if type(w).__name__ == "HiddenCorner")
        frame = 0

        def between() -> None:
            nonlocal frame
            frame += 1
            if frame % 4 == 0:
                self.t.tap(corner)
            else:
                self.t.frames(1)

        return eventually(condition, between=between, message=what)

    def run(self) -> dict[str, str]:
        home = self.app.manager.get_screen("home")
        self.t.tap(home.ids.queue, self.on("queue"))
        queue = self.app.manager.current_screen
        rows = self.until_touching(lambda: queue.message or {w.code: w for w in queue.ids.services.children[0].children
                                                             if getattr(w, "code", "")}, "the service list")
        if isinstance(rows, dict):
            self.t.tap(rows["HT"])
            ticket = self.app.manager.get_screen("ticket")
            self.until_touching(lambda: queue.message or (self.app.manager.current == "ticket"
                                                          and ticket.print_state != "printing"), "the ticket")
        self.ended["take a number"] = (queue.message if self.app.manager.current == "queue"
                                       else self.app.manager.current_screen.print_text)
        self.home()
        self.t.tap(home.ids.lookup, self.on("lookup"))
        lookup = self.app.manager.current_screen
        self.t.tap(lookup.ids.type_code, lambda: lookup.state == "entry")
        keys = {button.key: button for row in lookup.ids.keyboard.children for button in row.children}
        for char in DOSSIER:
            self.t.tap(keys[char])
        self.t.tap(lookup.ids.search)
        self.until_touching(lambda: lookup.state not in ("entry", "loading"), "the look-up's answer")
        self.ended["look-up"] = lookup.ids.outcome.text or f"dossier shown ({lookup.state})"  # found: the status
        self.home()
        self.t.tap(home.ids.submit, self.on("submit"))
        filing = self.app.manager.current_screen
        self.until_touching(lambda: filing.ids.parts.current in ("catalogue", "unavailable"), "the catalogue")
        self.ended["filing"] = ("catalogue shown" if filing.ids.parts.current == "catalogue"
                                else self.tr("filing.unavailable", "vi"))
        self.home()
        return self.ended


def child(args: argparse.Namespace) -> None:
    os.sched_setaffinity(0, {int(cpu) for cpu in args.child_cpus.split(",")})  # before any thread starts
    data = Path(args.child_data)
    if args.child == "draw":
        result = draw_child(data, args.rounds)  # --redraws, passed down as --rounds
    elif args.child == "bare":
        result = bare_child(data, args.rounds)
    else:
        result = kiosk_child(data, args.rounds, args.child_fault, args.child_url, tuple(args.only.split(",")))
    Path(args.child_out).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    os._exit(0)  # the app's threads and Kivy's window go with the process


# -- the parent: servers, children, figures --------------------------------------------------------------------------
class DroppingServer(FaultyServer):
    """Reads the request, sends the start of an answer and drops the connection (a link lost mid-answer)."""

    def __init__(self) -> None:
        super().__init__(answer_after=0.0)

    def _answer_late(self, conn: Any) -> None:
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{\"se")
        except OSError:
            pass
        finally:
            conn.close()


class NoServer:
    """A port nobody listens on (the part is down): connections are refused at once."""

    def __init__(self) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"

    def close(self) -> None:
        pass


def fault_server(mode: str) -> Any:
    """For a printer, "slow" is a connection that accepts and answers nothing within the kiosk's patience: the
    server answers 5 s after a request's end, which ESC/POS never marks."""
    return {"down": NoServer, "slow": lambda: FaultyServer(answer_after=SLOW_S), "drop": DroppingServer}[mode]()


def run_child(kind: str, cpus: str, rounds: int, fault: str = "", url: str = "",
              only: str = ",".join(PATH_GROUPS)) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        env = dict(os.environ, SDL_VIDEODRIVER="offscreen")
        env.pop("DISPLAY", None)
        run = subprocess.run([sys.executable, __file__, "--child", kind, "--child-cpus", cpus, "--rounds", str(rounds),
                              "--child-data", tmp, "--child-out", str(out), "--child-fault", fault,
                              "--child-url", url, "--only", only],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        if run.returncode != 0 or not out.exists():
            raise SystemExit(f"the {kind} child ({fault or 'no fault'}) failed:\n{run.stderr[-3000:]}")
        return json.loads(out.read_text(encoding="utf-8"))


def figures(samples: list[float]) -> dict[str, float]:
    """p50, p95 and max in milliseconds (a single sample is all three)."""
    if len(samples) < 2:
        return {"n": len(samples), "p50": samples[0], "p95": samples[0], "max": samples[0]}
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return {"n": len(samples), "p50": q[49], "p95": q[94], "max": max(samples)}


def kiosk_messages() -> list[re.Pattern[str]]:
    """Every text the kiosk can show in Vietnamese, placeholders as wildcards: a path's defined endings."""
    return [re.compile(re.sub(r"\\\{\w+\\\}", ".*", re.escape(text)) + "$", re.S)
            for text in catalogue("vi").values() if text]


def defined(text: str) -> bool:
    shown = ("catalogue shown", "dossier shown (found)")  # a working part's answer: the screen it opens
    return text in shown or any(pattern.match(text) for pattern in kiosk_messages())


def measure_cpus(label: str, cpus: str, rounds: int, only: str) -> dict[str, Any]:
    bare = run_child("bare", cpus, rounds)
    kiosk = run_child("kiosk", cpus, rounds, only=only)
    paths = {path: figures(samples) for path, samples in kiosk["samples"].items()}
    return {"cpus": label, "bare": figures(bare["samples"]["bare app"]), "paths": paths,
            "frames": [frame[1] for frame in kiosk["frames"]],
            "max_not_drawing_ms": max(frame[2] for frame in kiosk["frames"])}


def measure_faults(cases: list[str], rounds: int) -> list[dict[str, Any]]:
    results = []
    for case in cases:
        server = fault_server(case.partition(":")[2])
        try:
            result = run_child("kiosk", ",".join(map(str, sorted(os.sched_getaffinity(0)))), rounds, case, server.url)
        finally:
            server.close()
        frames = result["frames"]
        results.append({"fault": case, "ended": result["ended"], "frames": [f[1] for f in frames],
                        "max_ms": max(f[1] for f in frames), "max_wall_ms": max(f[0] for f in frames),
                        "max_not_drawing_ms": max(f[2] for f in frames),
                        "all_defined": all(defined(text) for text in result["ended"].values())})
    return results


def print_report(runs: list[dict[str, Any]], faults: list[dict[str, Any]]) -> None:
    head = " | ".join(f"{run['cpus']}: p50 / p95 / max (× bare p95)" for run in runs)
    print(f"| path | {head} | goal p95 |\n|---" + "|---:" * (len(runs) + 1) + "|")
    rows = [("bare app", [run["bare"] for run in runs])] + [
        (path, [run["paths"].get(path) for run in runs]) for path in KIOSK_PATHS]
    for path, cells in rows:
        if not any(cells):  # a path --only left out
            continue
        text = []
        for run, cell in zip(runs, cells, strict=True):
            if cell is None:
                text.append("—")
                continue
            ratio = cell["p95"] / run["bare"]["p95"]
            text.append(f"{cell['p50']:.0f} / **{cell['p95']:.0f}** / {cell['max']:.0f} ms (×{ratio:.1f})")
        goal = "" if path == "bare app" else f"{GOAL_MS.get(path, PATH_GOAL_MS):.0f} ms"
        print(f"| {path} ({cells[0]['n'] if cells[0] else 0}) | " + " | ".join(text) + f" | {goal} |")
    for run in runs:
        frames = run["frames"]
        print(f"{run['cpus']}, no fault: {len(frames)} frames, UI work p50 {statistics.median(frames):.1f} ms, "
              f"max {max(frames):.1f} ms, of it not drawing max {run['max_not_drawing_ms']:.1f} ms")
    if faults:
        print("\n| fault | frames | longest frame (less CPU wait) | longest, wall | longest, drawing aside "
              "| take a number | look-up | filing |\n|---|---:|---:|---:|---:|---|---|---|")
    for fault in faults:
        ended = " | ".join(fault["ended"].get(path, "—") for path in FAULT_PATHS)
        flag = "" if fault["all_defined"] else " ← an ending is no kiosk message"
        print(f"| {fault['fault']} | {len(fault['frames'])} | {fault['max_ms']:.1f} ms | "
              f"{fault['max_wall_ms']:.1f} ms | {fault['max_not_drawing_ms']:.1f} ms | {ended} |{flag}")


def print_draw_costs(views: dict[str, dict[str, float]]) -> None:
    empty = views["empty window"]
    print("| view | redraw, CPU (× empty window) | redraw, wall |\n|---|---:|---:|")
    for view, cost in views.items():
        print(f"| {view} | {cost['cpu']:.1f} ms (×{cost['cpu'] / empty['cpu']:.1f}) | {cost['wall']:.1f} ms |")


def histogram(png: Path, series: dict[str, list[float]]) -> None:
    """A bar chart of frame times (share of frames per 2 ms bin, one colour per series), drawn with PIL."""
    from PIL import Image, ImageDraw, ImageFont

    bins = [(n * 2, n * 2 + 2) for n in range(25)] + [(50, float("inf"))]
    colours = [(40, 100, 200), (220, 90, 40)]
    width, height, left, bottom = 1200, 600, 80, 80
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    shares = {name: [sum(low <= v < high for v in values) / len(values) for low, high in bins]
              for name, values in series.items()}
    top = max(max(s) for s in shares.values()) or 1.0
    slot = (width - left - 20) / len(bins)
    for s, (name, share) in enumerate(shares.items()):
        for b, value in enumerate(share):
            x0 = left + b * slot + s * slot / len(shares)
            y0 = height - bottom - value / top * (height - bottom - 60)
            draw.rectangle([x0 + 1, y0, x0 + slot / len(shares) - 1, height - bottom], fill=colours[s])
        draw.rectangle([left + 10, 14 + s * 20, left + 24, 26 + s * 20], fill=colours[s])
        draw.text((left + 30, 14 + s * 20), f"{name} ({len(series[name])} frames, max {max(series[name]):.1f} ms)",
                  fill="black", font=font)
    for b, (low, _high) in enumerate(bins):
        if b % 5 == 0 or low == 50:
            draw.text((left + b * slot, height - bottom + 8), ">=50" if low == 50 else f"{low}", fill="black",
                      font=font)
    draw.line([left, height - bottom, width - 20, height - bottom], fill="black")
    draw.line([left, 50, left, height - bottom], fill="black")
    draw.text((width // 2 - 160, height - 40), "UI-thread work per frame, ms (less CPU wait)", fill="black", font=font)
    draw.text((8, 50), f"{top:.0%}", fill="black", font=font)
    draw.text((8, height - bottom - 10), "0%", fill="black", font=font)
    png.parent.mkdir(parents=True, exist_ok=True)
    image.save(png)


def path_groups(text: str) -> str:
    """``--only``'s value, checked: known group names, comma-separated."""
    unknown = [group for group in text.split(",") if group not in PATH_GROUPS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown group {unknown[0]!r}: use {', '.join(PATH_GROUPS)}")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="passes over every path (default 3)")
    parser.add_argument("--cpus", default="all,1", help="CPU sets to run on: all, 1 or both (default all,1)")
    parser.add_argument("--faults", action="store_true", help="also run every fault case")
    parser.add_argument("--fault", action="append", default=[], metavar="TARGET:MODE",
                        help=f"run one fault case: TARGET of {', '.join(TARGETS)}, MODE of {', '.join(MODES)}")
    parser.add_argument("--histogram", type=Path, help="draw the frame-time distribution into this PNG")
    parser.add_argument("--json", type=Path, help="write every figure into this file too")
    parser.add_argument("--only", default=",".join(PATH_GROUPS), type=path_groups,
                        help=f"run only these groups of paths, comma-separated, of {', '.join(PATH_GROUPS)} "
                             "(default all; more samples of one path in the same time)")
    parser.add_argument("--draw-cost", action="store_true", help="measure each screen's redraw instead")
    parser.add_argument("--redraws", type=int, default=15, help="redraws per screen with --draw-cost (default 15)")
    for name in ("child", "child-cpus", "child-data", "child-out", "child-fault", "child-url"):
        parser.add_argument(f"--{name}", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
    cases = [f"{t}:{m}" for t in TARGETS for m in MODES] if args.faults else args.fault
    if bad := [case for case in cases if case.partition(":")[::2] not in {(t, m) for t in TARGETS for m in MODES}]:
        parser.error(f"unknown fault case {bad[0]!r}: use TARGET:MODE, e.g. backend:down")
    all_cpus = sorted(os.sched_getaffinity(0))
    print(f"{platform.node()}: {len(all_cpus)} CPUs, Python {platform.python_version()}, {SIZE[0]}×{SIZE[1]}")
    if args.draw_cost:
        views = run_child("draw", ",".join(map(str, all_cpus)), args.redraws)["views"]
        print_draw_costs(views)
        if args.json:
            args.json.write_text(json.dumps({"views": views}, ensure_ascii=False), encoding="utf-8")
        return
    runs = [measure_cpus(f"{len(all_cpus)} CPUs" if word == "all" else "1 CPU",
                         ",".join(map(str, all_cpus)) if word == "all" else str(all_cpus[0]), args.rounds,
                         args.only)
            for word in args.cpus.split(",")]
    faults = measure_faults(cases, args.rounds)
    print_report(runs, faults)
    if args.histogram:
        series = {f"no fault, {runs[0]['cpus']}": runs[0]["frames"]}
        if faults:
            series["faults (all cases)"] = [v for fault in faults for v in fault["frames"]]
        histogram(args.histogram, series)
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "faults": faults}, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
