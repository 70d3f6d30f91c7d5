"""`homeplm doctor`'s native checks: how llama.cpp was built, and each model run once in a child.

A native library that uses an instruction the CPU does not run dies with SIGILL, which no Python
code can catch. So each model is loaded and run once in a child process (`python -m
homeplm.cli.doctor_native ROLE [CONFIG]`): a crash there is reported with the signal and the fix, and
doctor itself lives on.
"""

from __future__ import annotations

import json
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

from homeplm.cli.doctor_models import FAIL, OK, WARN, Check
from homeplm.daemon.warmup import FIXES

BUILD_RECORD = "homeplm-llama-build.txt"  # written by scripts/setup.sh into the virtual environment
RUN_TIMEOUT_S = 180.0
ROLES = ("wake", "vad", "stt", "llm", "tts")
PYTHON = sys.executable  # the child interpreter (a test points it at a crashing stand-in)

# llama.cpp's compiled-in features (llama_print_system_info) → the /proc/cpuinfo flag each needs.
_X86_NEEDS = {
    "SSE3": "pni",
    "SSSE3": "ssse3",
    "AVX": "avx",
    "AVX2": "avx2",
    "F16C": "f16c",
    "FMA": "fma",
    "BMI2": "bmi2",
    "AVX_VNNI": "avx_vnni",
    "AVX512": "avx512f",
    "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni",
    "AVX512_BF16": "avx512_bf16",
    "AMX_INT8": "amx_int8",
}
_ARM_NEEDS = {"NEON": "asimd", "DOTPROD": "asimddp", "FP16_VA": "fphp", "MATMUL_INT8": "i8mm", "SVE": "sve"}
# Features a CPU may advertise that a VM still refuses to run (AMX on some Sapphire Rapids VMs).
_RISKY = ("AMX_INT8",)


def compiled_features(system_info: str) -> list[str]:
    """The features llama.cpp's CPU backend was built with, from 'CPU : AVX = 1 | AVX2 = 1 | …'."""
    features = []
    for part in system_info.replace("\n", "|").split("|"):
        key, _, value = part.rpartition("=")
        key = key.split(":")[-1].strip()
        if key and value.strip() == "1":
            features.append(key)
    return features


def build_record() -> dict[str, str]:
    """What scripts/setup.sh says it built ({"build": "baseline", "CMAKE_ARGS": …}), or {}."""
    path = Path(sys.prefix) / BUILD_RECORD
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    return {k: v for k, _, v in (line.partition(" ") for line in lines) if k}


def check_llama_build(system_info: str, cpu_flags: set[str], machine: str | None = None) -> Check:
    """The instruction sets llama.cpp was compiled for, against those this CPU reports."""
    machine = (machine or platform.machine()).lower()
    needs = _ARM_NEEDS if machine.startswith(("aarch64", "arm")) else _X86_NEEDS
    features = [f for f in compiled_features(system_info) if f in needs or f.startswith("AMX")]
    record = build_record()
    build = record.get("build", "unknown (not built by scripts/setup.sh)")
    detail = f"llama.cpp built {build}: {', '.join(features) or 'no SIMD features'}"
    rebuild = FIXES["llm"]
    missing = [f for f in features if f in needs and needs[f] not in cpu_flags]
    if missing:
        return Check("llama.cpp build", FAIL, f"{detail}; this CPU lacks {', '.join(missing)}", rebuild)
    risky = [f for f in features if f in _RISKY or f.startswith("AMX")]
    if risky:
        return Check(
            "llama.cpp build",
            WARN,
            f"{detail}; {', '.join(risky)} is known to raise SIGILL on some VMs that advertise it",
            rebuild,
        )
    return Check("llama.cpp build", OK, detail)


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def run_in_child(role: str, config: Path | None, timeout_s: float = RUN_TIMEOUT_S) -> Check:
    """Load and run one model in a child process; a crash becomes a FAIL with the signal and a fix."""
    command = [PYTHON, "-m", "homeplm.cli.doctor_native", role]
    if config is not None:
        command.append(str(config))
    started = time.perf_counter()
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return Check(f"run {role}", FAIL, f"no answer in {timeout_s:.0f} s", FIXES.get(role, ""))
    ms = (time.perf_counter() - started) * 1000
    if proc.returncode < 0:
        name = _signal_name(proc.returncode)
        what = " (illegal instruction: built for a CPU feature this one does not run)" * (name == "SIGILL")
        return Check(f"run {role}", FAIL, f"crashed with {name}{what}", FIXES.get(role, ""))
    lines = proc.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else {}
    except ValueError:
        answer = {}
    if proc.returncode != 0 or not answer.get("ok"):
        why = answer.get("error") or (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        return Check(f"run {role}", FAIL, str(why)[:300], FIXES.get(role, ""))
    return Check(f"run {role}", OK, f"loaded and ran once in a child process ({ms:.0f} ms)")


def check_native(config: Path | None, cpu_flags: set[str], roles: tuple[str, ...] = ROLES) -> list[Check]:
    checks = [run_in_child(role, config) for role in roles]
    info = _child_system_info()
    if info is None:
        checks.insert(
            0, Check("llama.cpp build", FAIL, "cannot load llama.cpp in a child process", FIXES["llm"])
        )
    else:
        checks.insert(0, check_llama_build(info, cpu_flags))
    return checks


def _child_system_info() -> str | None:
    code = "from homeplm.backends.llama_chat import system_info; print(system_info())"
    try:
        proc = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return None
    return proc.stdout if proc.returncode == 0 else None


def _child(role: str, config: str | None) -> int:
    """In the child: load one part and run it once; the last stdout line is a JSON answer."""
    from homeplm import assistant
    from homeplm.config import load_settings
    from homeplm.core.errors import HomeplmError
    from homeplm.daemon.warmup import run_once

    try:
        settings = load_settings(Path(config) if config else None)
        part = assistant._LOADERS[role](settings)
        run_once(role, part)
    except HomeplmError as err:
        print(json.dumps({"ok": False, "error": err.message}))
        return 1
    except Exception as err:
        print(json.dumps({"ok": False, "error": f"{type(err).__name__}: {err}"}))
        return 1
    print(json.dumps({"ok": True}))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
