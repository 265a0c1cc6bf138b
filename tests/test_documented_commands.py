"""The command lines of docs/operations.md run as written, offline.

Each ``python main.py …`` line is read from the document itself, its placeholders moved into a scratch folder
(``/etc/kiosk``, ``/var/lib/kiosk-backend``, ``DIR``, ``https://backend.example``, ``$ADMIN_TOKEN``, ports) and run
in the order an operator would: make a signing key, start the backend with it, build, publish and apply a bundle,
start the branch queue server, look after the outbox. The kiosk-side lines get the kiosk's site file with
``--config``, as on a real kiosk.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

from backend.server import free_port
from tests.support import ADMIN_TOKEN, ROOT, ServeProcess

DOC = ROOT / "docs" / "operations.md"
DOCUMENTED = {  # command words → what a successful run prints (on stdout, or stderr for the servers)
    ("backend", "serve"): "Reference backend on http://127.0.0.1:",
    ("content", "keygen"): "",
    ("content", "build"): "built b8.zip: content version 8 for group hoan-kiem",
    ("content", "publish"): "published content version 8 for group hoan-kiem",
    ("content", "apply"): "applied content version 8 for group hoan-kiem",
    ("queue", "serve"): "Branch queue server on http://127.0.0.1:",
    ("outbox", "list"): "",
    ("outbox", "send"): "delivered 0, still pending 0",
    ("outbox", "retry"): "0 dead item(s) queued again",
    ("outbox", "purge"): "purged 0 delivered item(s)",
}


def documented_lines() -> dict[tuple[str, ...], list[str]]:
    """The document's ``python main.py`` code lines as argument lists; ``[a|b]`` options as their first choice."""
    text = DOC.read_text(encoding="utf-8").replace("\\\n", " ")
    lines = {}
    for line in re.findall(r"^ {4}python main\.py (.+)$", text, flags=re.MULTILINE):
        line = re.sub(r"\s+#.*$", "", line)
        line = re.sub(r"\[([^\]|]+?)(?:\|[^\]]*)?\]", r"\1", line)  # "[--state pending|dead]" → "--state pending"
        words = shlex.split(line)
        lines[tuple(words[:2])] = words
    return lines


def localise(words: list[str], tmp: Path, backend_url: str) -> list[str]:
    swapped = []
    for word in words:
        word = (word.replace("/etc/kiosk", str(tmp / "etc-kiosk"))
                .replace("/var/lib/kiosk-backend", str(tmp / "backend"))
                .replace("https://backend.example", backend_url)
                .replace("$ADMIN_TOKEN", ADMIN_TOKEN)
                .replace("0.0.0.0", "127.0.0.1"))
        swapped.append(str(tmp / "content") if word == "DIR" else word)
    for index, word in enumerate(swapped[:-1]):
        if word == "--port":
            swapped[index + 1] = str(free_port())
    return swapped


def main_py(words: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *words], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_the_document_lists_the_commands_this_test_runs():
    assert set(documented_lines()) == set(DOCUMENTED)


def test_every_documented_line_runs_offline(tmp_path):
    lines = documented_lines()
    (tmp_path / "content").mkdir()
    (tmp_path / "backend").mkdir()  # /var/lib/kiosk-backend: the operator creates a --db's directory
    (tmp_path / "content" / "announcements.json").write_text(
        json.dumps({"announcements": [{"text": "Lịch nghỉ Tết"}]}, ensure_ascii=False), encoding="utf-8")

    def run(command: tuple[str, str], backend_url: str = "http://127.0.0.1:1", extra: tuple[str, ...] = ()) -> str:
        result = main_py([*localise(lines[command], tmp_path, backend_url), *extra], tmp_path)
        assert result.returncode == 0, f"{' '.join(command)}: {result.stderr}"
        assert DOCUMENTED[command] in result.stdout
        return result.stdout

    public_key = run(("content", "keygen")).strip()
    site = tmp_path / "etc-kiosk" / "site.toml"
    site.write_text(f'data_dir = "{tmp_path / "kiosk-data"}"\n[content]\ntrusted_keys = ["{public_key}"]\n'
                    'group = "hoan-kiem"\n', encoding="utf-8")
    (tmp_path / "etc-kiosk" / "branch.toml").write_text(f'data_dir = "{tmp_path / "queue-data"}"\n',
                                                        encoding="utf-8")
    admin_token = tmp_path / "etc-kiosk" / "admin-token"  # the documented --admin-token-file
    admin_token.write_text(ADMIN_TOKEN + "\n", encoding="utf-8")
    admin_token.chmod(0o600)
    backend = ServeProcess(*localise(lines[("backend", "serve")], tmp_path, ""), cwd=tmp_path)
    try:
        run(("content", "build"))
        run(("content", "publish"), backend.url)
    finally:
        assert DOCUMENTED[("backend", "serve")] in backend.stop()
    run(("content", "apply"), extra=("--config", str(site)))
    queue = ServeProcess(*localise(lines[("queue", "serve")], tmp_path, ""), cwd=tmp_path)
    assert DOCUMENTED[("queue", "serve")] in queue.stop()
    for command in (("outbox", "list"), ("outbox", "send"), ("outbox", "retry"), ("outbox", "purge")):
        run(command, extra=("--config", str(site)))
