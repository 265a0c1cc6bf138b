"""glibc's heap in the kiosk process: freed memory goes back to the OS, at a session's end and for large blocks.

glibc's settings are per process and stick, so each case runs in a fresh interpreter; each case also runs
without the call under test, to show that the figure it checks would be different without it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kiosk.core import KioskCore
from screens.native_heap import heap_figures
from tests.support import ROOT

pytestmark = pytest.mark.skipif(not heap_figures(), reason="glibc only")

HEAP = '''
import ctypes, json, sys
from screens.native_heap import give_back_free_pages, heap_figures, return_large_frees

libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]

def rss_anon_mib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssAnon:")) / 1024

def touched(size):
    block = libc.malloc(size)
    ctypes.memset(block, 1, size)
    return block

case, call = sys.argv[1], sys.argv[2] == "call"
if case == "session":  # 64 MiB of small blocks freed under one still in use: glibc cannot trim the top
    blocks = [touched(64 * 1024) for _ in range(1024)]
    for block in blocks[:-1]:
        libc.free(block)
    before = rss_anon_mib()
    if call:
        give_back_free_pages()
    print(json.dumps({"freed_mib": before - rss_anon_mib()}))
else:  # two PIN checks' worth of 16 MiB buffers, one after the other
    if call:
        return_large_frees()
    for _ in range(2):
        libc.free(touched(16 * 1024 * 1024))
    print(json.dumps(heap_figures()))
'''


def run(case: str, call: bool) -> dict[str, float]:
    result = subprocess.run([sys.executable, "-c", HEAP, case, "call" if call else "skip"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)


def test_what_a_session_freed_goes_back_to_the_os_only_when_given_back():
    assert run("session", call=False)["freed_mib"] < 8
    assert run("session", call=True)["freed_mib"] > 48


def test_large_blocks_go_back_to_the_os_every_time_not_only_the_first():
    assert run("large", call=False)["heap_free_mib"] >= 16  # glibc kept the second buffer
    assert run("large", call=True)["heap_free_mib"] < 4


def test_the_kiosk_core_calls_back_after_each_session_wipe(kiosk_config):
    core = KioskCore(kiosk_config)
    ended: list[bool] = []
    core.on_session_end(lambda: ended.append(True))
    core.start_session()
    core.end_session()
    core.end_session()
    assert ended == [True, True]
    core.close()
