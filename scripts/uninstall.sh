#!/usr/bin/env bash
# Remove the homeplm system service (run as root). Stops and disables it, removes the unit, its
# drop-ins and the code in /opt/homeplm. KEEPS the household's memory (/var/lib/homeplm) and its
# configuration (/etc/homeplm) unless --purge.
#
#   sudo bash scripts/uninstall.sh                  # keep the memory and the configuration
#   sudo bash scripts/uninstall.sh --purge          # also delete them and the homeplm user (asks)
#   sudo bash scripts/uninstall.sh --purge --yes    # ... without asking
#
# Options: --prefix DIR (default /opt/homeplm), --config-dir DIR (/etc/homeplm),
# --unit-dir DIR (/etc/systemd/system), --state-dir DIR (/var/lib/homeplm),
# --cache-dir DIR (/var/cache/homeplm), --no-systemd (call no systemctl), --no-user (--purge keeps
# the homeplm user), --dry-run.
set -euo pipefail

usage() { sed -n '2,14s/^# \{0,1\}//p' "$0"; }

prefix=/opt/homeplm
config_dir=/etc/homeplm
unit_dir=/etc/systemd/system
state_dir=/var/lib/homeplm
cache_dir=/var/cache/homeplm
use_systemd=1
remove_user=1
purge=0
yes=0
dry_run=0
while (($#)); do
    case "$1" in
        --prefix) prefix=${2:?--prefix needs a directory}; shift ;;
        --prefix=*) prefix=${1#*=} ;;
        --config-dir) config_dir=${2:?--config-dir needs a directory}; shift ;;
        --config-dir=*) config_dir=${1#*=} ;;
        --unit-dir) unit_dir=${2:?--unit-dir needs a directory}; shift ;;
        --unit-dir=*) unit_dir=${1#*=} ;;
        --state-dir) state_dir=${2:?--state-dir needs a directory}; shift ;;
        --state-dir=*) state_dir=${1#*=} ;;
        --cache-dir) cache_dir=${2:?--cache-dir needs a directory}; shift ;;
        --cache-dir=*) cache_dir=${1#*=} ;;
        --no-systemd) use_systemd=0 ;;
        --no-user) remove_user=0 ;;
        --purge) purge=1 ;;
        -y | --yes) yes=1 ;;
        --dry-run) dry_run=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "uninstall.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
prefix=${prefix%/}
config_dir=${config_dir%/}
unit_dir=${unit_dir%/}
state_dir=${state_dir%/}
cache_dir=${cache_dir%/}

user=homeplm
unit=homeplm.service

say() { printf 'uninstall: %s\n' "$*"; }
die() { printf 'uninstall: error: %s\n' "$*" >&2; exit 1; }
run() {
    if ((dry_run)); then
        printf '[dry-run] %s\n' "$*"
    else
        "$@"
    fi
}

if ((!dry_run)) && [[ "$(id -u)" -ne 0 ]]; then
    die "run this as root (sudo bash $0), or add --dry-run to see what it would do"
fi
for dir in "$prefix" "$config_dir" "$unit_dir" "$state_dir" "$cache_dir"; do
    [[ -n "$dir" && "$dir" != / ]] || die "refusing to work on '/'"
done

# --purge deletes what the household owns: confirm first.
if ((purge && !yes && !dry_run)); then
    if [[ ! -t 0 ]]; then
        die "--purge deletes the household's memory ($state_dir) and configuration ($config_dir); add --yes to confirm without a terminal"
    fi
    printf 'This deletes the household memory in %s, the configuration in %s\nand the %s user. Type "yes" to go on: ' \
        "$state_dir" "$config_dir" "$user"
    read -r answer
    [[ "$answer" == yes ]] || die "not confirmed; nothing was removed"
fi

# --- 1. Stop and disable ------------------------------------------------------------------------
if ((!use_systemd)); then
    say "--no-systemd: not calling systemctl"
elif [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
    if systemctl list-unit-files "$unit" >/dev/null 2>&1; then
        run systemctl disable --now "$unit" || say "(it was not enabled or not running)"
    fi
else
    say "systemd is not running here (a container or chroot?): skipping systemctl"
fi

# --- 2. The unit and its drop-ins ---------------------------------------------------------------
if [[ -e "$unit_dir/$unit" || -d "$unit_dir/$unit.d" ]]; then
    say "removing $unit_dir/$unit and $unit_dir/$unit.d"
    run rm -rf "$unit_dir/$unit" "$unit_dir/$unit.d"
else
    say "no unit in $unit_dir"
fi
if ((use_systemd)) && [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
    run systemctl daemon-reload
    run systemctl reset-failed "$unit" 2>/dev/null || true
fi

# --- 3. The code --------------------------------------------------------------------------------
if [[ -e "$prefix/.homeplm-install" ]]; then
    say "removing $prefix"
    run rm -rf "$prefix"
elif [[ -e "$prefix" ]]; then
    say "$prefix has no .homeplm-install marker (not made by install.sh?): leaving it alone"
else
    say "no $prefix"
fi

# --- 4. The household's data --------------------------------------------------------------------
if ((purge)); then
    say "purging $state_dir, $cache_dir and $config_dir"
    run rm -rf "$state_dir" "$cache_dir" "$config_dir"
    if ((remove_user)) && getent passwd "$user" >/dev/null; then
        say "removing the $user user"
        run userdel "$user"
    fi
else
    say "kept the household's memory ($state_dir) and configuration ($config_dir); --purge removes them"
fi
((dry_run)) && say "dry run: nothing was changed"
exit 0
