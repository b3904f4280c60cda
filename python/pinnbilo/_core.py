"""The compiled core, the copy built for the best CPU level this machine supports.

The package carries one build of the C++ core per x86-64 level (baseline, v3: AVX2 + FMA,
v4: AVX-512), each a module of its own with every symbol hidden, and loads exactly one of them:
a wheel runs on any x86-64 CPU and still uses its vector units. ``PINNBILO_ISA`` (``x86-64``,
``x86-64-v3``, ``x86-64-v4``) forces a level, e.g. to check results across levels; a build with
``PINNBILO_NATIVE=ON`` carries only ``native``. ``isa_level`` names the copy in use.
"""

from __future__ import annotations

import importlib
import os
import platform
from types import ModuleType
from typing import List, Set

# x86-64 micro-architecture levels (psABI) and the CPU flags each needs beyond the one below.
_LEVEL_FLAGS = {
    "x86-64-v3": {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "movbe", "xsave", "abm"},
    "x86-64-v4": {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"},
}


def _cpu_flags() -> Set[str]:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def supported_levels() -> List[str]:
    """The CPU levels this machine runs, best first (the generic build always)."""
    out = ["generic"]
    if platform.machine().lower() in ("x86_64", "amd64"):
        out.insert(0, "x86-64")
        flags = _cpu_flags()
        if _LEVEL_FLAGS["x86-64-v3"] <= flags:
            out.insert(0, "x86-64-v3")
            if _LEVEL_FLAGS["x86-64-v4"] <= flags:
                out.insert(0, "x86-64-v4")
    return out


def _load() -> ModuleType:
    forced = os.environ.get("PINNBILO_ISA", "").strip()
    if forced:
        if forced not in ("x86-64", "x86-64-v3", "x86-64-v4", "generic", "native"):
            raise ImportError(f"PINNBILO_ISA={forced!r}: use x86-64, x86-64-v3, x86-64-v4, generic or native")
        if forced not in ("native", "generic") and forced not in supported_levels():
            raise ImportError(f"PINNBILO_ISA={forced!r}: this CPU does not support that level")
        candidates = [forced]
    else:
        candidates = ["native", *supported_levels()]
    for level in candidates:
        try:
            return importlib.import_module(f"pinnbilo._core_{level.replace('-', '_')}")
        except ModuleNotFoundError:
            continue
    raise ImportError(
        f"no build of the pinnbilo core for this CPU (tried {', '.join(candidates)}); reinstall pinnbilo from source"
    )


_module = _load()
globals().update({k: v for k, v in vars(_module).items() if not k.startswith("__")})
isa_level: str = _module.isa_level
