#!/usr/bin/env bash
# Set up (with the test tools), then lint, format check, type check and the test suite.
#
#   bash scripts/test.sh                 # everything
#   bash scripts/test.sh -k endpointer   # arguments go to pytest
#   HOMEPLM_BENCH=1 bash scripts/test.sh # also `homeplm bench --quick`
#
# Every check runs even when an earlier one fails, so one CI log shows all problems; the exit status
# is non-zero when any failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

started=$SECONDS
failed=()

section() { printf '\n===== %s =====\n' "$*"; }

finish() {
    local rc=$?
    local elapsed=$((SECONDS - started))
    section "summary"
    if ((${#failed[@]})); then
        printf 'FAILED: %s\n' "${failed[*]}"
        ((rc)) || rc=1
    elif ((rc)); then
        printf 'FAILED (exit %d)\n' "$rc"
    else
        printf 'all checks passed\n'
    fi
    printf 'total time: %dm%02ds\n' $((elapsed / 60)) $((elapsed % 60))
    exit "$rc"
}
trap finish EXIT

# Runs one named check, recording a failure instead of stopping.
check() {
    local name=$1
    shift
    section "$name"
    local t0=$SECONDS rc=0
    "$@" || rc=$?
    if ((rc)); then
        failed+=("$name")
        printf -- '--- %s failed (exit %d) after %ds\n' "$name" "$rc" $((SECONDS - t0))
    else
        printf -- '--- %s ok (%ds)\n' "$name" $((SECONDS - t0))
    fi
    return 0
}

run_pytest() {
    local rc=0
    .venv/bin/pytest -q -ra "$@" || rc=$?
    if ((rc == 5)); then
        echo "pytest collected no tests: that is a failure here"
    fi
    return "$rc"
}

section "setup"
bash scripts/setup.sh --test # a broken set-up makes every later check meaningless: stop here

# The systemd unit: `systemd-analyze verify` on a copy whose ExecStart exists here, and its security
# exposure (tests/test_systemd_unit.py asserts the score). Installs Debian's systemd package for
# systemd-analyze when missing and root; where it cannot run at all (some containers), it says so
# and passes: only a unit it can check and finds wrong fails.
systemd_unit() {
    if ! command -v systemd-analyze >/dev/null 2>&1 && [[ "$(id -u)" -eq 0 ]] &&
        command -v apt-get >/dev/null 2>&1 && [[ "${HOMEPLM_SKIP_APT:-0}" != 1 ]]; then
        echo "installing systemd (for systemd-analyze)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends systemd >/dev/null ||
            echo "apt-get install systemd failed"
    fi
    if ! command -v systemd-analyze >/dev/null 2>&1; then
        echo "skipped: no systemd-analyze here"
        return 0
    fi
    local dir rc=0
    dir="$(mktemp -d)"
    printf '[Service]\nExecStart=/bin/true\n' >"$dir/probe.service"
    if ! systemd-analyze verify "$dir/probe.service" >/dev/null 2>&1; then
        echo "skipped: systemd-analyze cannot run here (it fails even on a trivial unit)"
        rm -rf "$dir"
        return 0
    fi
    sed 's#^ExecStart=[^ ]*#ExecStart=/bin/true#' systemd/homeplm.service >"$dir/homeplm.service"
    systemd-analyze verify "$dir/homeplm.service" || rc=$?
    systemd-analyze security --offline=yes --no-pager "$dir/homeplm.service" 2>&1 | tail -n 1 ||
        echo "(systemd-analyze security --offline=yes is not available here)"
    rm -rf "$dir"
    return "$rc"
}

check "systemd unit" systemd_unit
check "ruff check" .venv/bin/ruff check homeplm tests
check "ruff format" .venv/bin/ruff format --check homeplm tests
check "mypy" .venv/bin/mypy
check "pytest" run_pytest "$@"
if [[ "${HOMEPLM_BENCH:-0}" == 1 ]]; then
    check "bench" .venv/bin/homeplm bench --quick
fi
