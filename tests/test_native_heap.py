"""glibc's heap in the kiosk process: large freed blocks go back to the OS, and the figures show what glibc holds.

glibc's settings are per process and stick, so each case runs in a fresh interpreter; it also runs without the
call under test, to show that the figure it checks would be different without it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from screens.native_heap import heap_figures
from tests.support import ROOT

pytestmark = pytest.mark.skipif(not heap_figures(), reason="glibc only")

HEAP = '''
import ctypes, json, sys
from screens.native_heap import heap_figures, return_large_frees

libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]

def touched(size):
    block = libc.malloc(size)
    ctypes.memset(block, 1, size)
    return block

if sys.argv[1] == "call":
    return_large_frees()
for _ in range(2):  # two PIN checks' worth of 16 MiB buffers, one after the other
    libc.free(touched(16 * 1024 * 1024))
print(json.dumps(heap_figures()))
'''


def run(call: bool) -> dict[str, float]:
    result = subprocess.run([sys.executable, "-c", HEAP, "call" if call else "skip"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)


def test_large_blocks_go_back_to_the_os_every_time_not_only_the_first():
    kept = run(call=False)
    assert kept["heap_free_mib"] >= 16  # glibc kept the second buffer in its heap
    returned = run(call=True)
    assert returned["heap_free_mib"] < 4
    assert returned["heap_used_mib"] < 16 and returned["mmapped_mib"] < 16  # and nothing else holds it

