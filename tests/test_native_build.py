"""The native build runs wherever it is installed: llama.cpp holds no instruction past the baseline,
and a model that crashes natively is reported by `homeplm doctor`, not suffered."""

from __future__ import annotations

import importlib.util
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from homeplm.cli import doctor_native
from homeplm.cli.doctor_models import FAIL, OK, WARN
from homeplm.daemon.warmup import StartupMarks

LIB_DIR = Path(importlib.util.find_spec("llama_cpp").submodule_search_locations[0]) / "lib"  # type: ignore[index, union-attr]
NATIVE = os.environ.get("HOMEPLM_LLAMA_BUILD") == "native"
X86 = platform.machine().lower() in ("x86_64", "amd64")

# Instructions past the baseline: AVX-512 (any zmm register or mask register op), AMX tiles on x86-64;
# SVE (z registers) and the int8 matrix multiply on aarch64 (not on the Cortex-A76).
_BEYOND = (
    re.compile(r"%zmm\d|%k[1-7]\b|\btile(loadd|stored|zero|release)|\btdpb")
    if X86
    else re.compile(r"\bz\d+\.[bhsd]\b|\b[su]mmla\b|\bbf(mmla|dot)\b")
)


def _libraries() -> list[Path]:
    return sorted(p for p in LIB_DIR.glob("*.so") if p.is_file())


@pytest.mark.skipif(NATIVE, reason="HOMEPLM_LLAMA_BUILD=native: a build for this CPU only, by choice")
@pytest.mark.skipif(shutil.which("objdump") is None, reason="objdump (binutils) is not installed")
def test_llama_cpp_libraries_hold_no_instruction_beyond_the_baseline() -> None:
    libraries = _libraries()
    assert libraries, f"no llama.cpp libraries in {LIB_DIR}"
    found = {}
    for lib in libraries:
        text = subprocess.run(
            ["objdump", "-d", "--no-show-raw-insn", str(lib)], capture_output=True, text=True, check=True
        ).stdout
        hits = [line.strip() for line in text.splitlines() if _BEYOND.search(line)]
        if hits:
            found[lib.name] = hits[:3]
    assert not found, f"instructions beyond the baseline: {found}"


@pytest.mark.skipif(NATIVE, reason="HOMEPLM_LLAMA_BUILD=native: a build for this CPU only, by choice")
def test_setup_recorded_a_baseline_build() -> None:
    record = doctor_native.build_record()
    assert record.get("build") == "baseline", record
    assert "-DGGML_NATIVE=OFF" in record.get("CMAKE_ARGS", "")
    import llama_cpp

    features = doctor_native.compiled_features(llama_cpp.llama_print_system_info().decode())
    assert not [f for f in features if f.startswith(("AVX512", "AMX"))], features
    if X86:
        assert {"AVX2", "FMA", "F16C"} <= set(features), features


def test_doctor_names_a_feature_the_cpu_lacks_and_warns_of_amx() -> None:
    info = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | AVX512 = 1 | FMA = 1 | LLAMAFILE = 1 |"
    flags = {"pni", "avx", "avx2", "fma"}
    check = doctor_native.check_llama_build(info, flags, "x86_64")
    assert check.status == FAIL and "lacks AVX512" in check.detail
    assert "HOMEPLM_LLAMA_BUILD=baseline" in check.hint
    amx = doctor_native.check_llama_build(
        "CPU : AVX2 = 1 | AMX_INT8 = 1 |", {"avx2", "amx_int8", "amx_tile"}, "x86_64"
    )
    assert amx.status == WARN and "AMX_INT8" in amx.detail
    fine = doctor_native.check_llama_build(
        "CPU : AVX2 = 1 | FMA = 1 | F16C = 1 |", {"avx2", "fma", "f16c"}, "x86_64"
    )
    assert fine.status == OK


def test_a_model_that_dies_with_sigill_is_reported_with_its_fix(tmp_path: Path, monkeypatch) -> None:
    crashing = tmp_path / "python"
    crashing.write_text("#!/bin/sh\nkill -ILL $$\n")
    crashing.chmod(0o755)
    monkeypatch.setattr(doctor_native, "PYTHON", str(crashing))
    check = doctor_native.run_in_child("llm", None, timeout_s=30)
    assert check.status == FAIL
    assert "SIGILL" in check.detail and "illegal instruction" in check.detail
    assert "scripts/setup.sh" in check.hint


def test_each_real_model_runs_once_in_a_child() -> None:
    checks = doctor_native.check_native(None, doctor_native_cpu_flags(), ("llm", "vad"))
    assert [c.status for c in checks] == [OK, OK, OK], checks


def doctor_native_cpu_flags() -> set[str]:
    from homeplm.cli.doctor import cpu_flags

    return cpu_flags(Path("/proc/cpuinfo").read_text())


def test_a_start_that_died_names_its_part_next_time(tmp_path: Path, caplog) -> None:
    # A real native crash inside the marked block: the child dies with SIGILL while "loading" llm.
    code = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from homeplm.daemon.warmup import StartupMarks\n"
        "with StartupMarks(Path(sys.argv[1])).loading('llm'):\n"
        "    os.kill(os.getpid(), signal.SIGILL)\n"
    )
    for _ in range(2):
        died = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True)
        assert died.returncode == -4
        marks = StartupMarks(tmp_path)
        with caplog.at_level(logging.ERROR):
            assert marks.report_previous() == ["llm"]
    assert "the last 2 starts ended while loading or first running: llm" in caplog.text
    assert "HOMEPLM_LLAMA_BUILD=baseline" in caplog.text
    assert marks.left_by_last_start() == []
    marks.started()
    with marks.loading("stt"):
        pass
    assert StartupMarks(tmp_path).report_previous() == []
