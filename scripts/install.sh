#!/usr/bin/env bash
# Install homeplm as a system service (run as root; idempotent: run it again after an update or
# after changing mqtt.host / expert.url / satellites / wyoming, it refreshes the code, the unit and
# the network allow list).
#
#   sudo bash scripts/install.sh             # install, enable and start
#   sudo bash scripts/install.sh --dry-run   # print what it would do, change nothing
#
# Options:
#   --prefix DIR       where the code and its .venv go (default /opt/homeplm)
#   --config-dir DIR   configuration (default /etc/homeplm); an existing homeplm.yaml is never touched
#   --unit-dir DIR     systemd unit directory (default /etc/systemd/system)
#   --no-user          do not create the homeplm user (files are then left owned by root)
#   --no-systemd       install the unit file but call no systemctl
#   --no-setup         copy the code but do not build the .venv (scripts/setup.sh)
#   --dry-run          print each step instead of doing it
set -euo pipefail

src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() { sed -n '2,17s/^# \{0,1\}//p' "$0"; }

prefix=/opt/homeplm
config_dir=/etc/homeplm
unit_dir=/etc/systemd/system
state_dir=/var/lib/homeplm
make_user=1
use_systemd=1
run_setup=1
dry_run=0
while (($#)); do
    case "$1" in
        --prefix) prefix=${2:?--prefix needs a directory}; shift ;;
        --prefix=*) prefix=${1#*=} ;;
        --config-dir) config_dir=${2:?--config-dir needs a directory}; shift ;;
        --config-dir=*) config_dir=${1#*=} ;;
        --unit-dir) unit_dir=${2:?--unit-dir needs a directory}; shift ;;
        --unit-dir=*) unit_dir=${1#*=} ;;
        --no-user) make_user=0 ;;
        --no-systemd) use_systemd=0 ;;
        --no-setup) run_setup=0 ;;
        --dry-run) dry_run=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "install.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
prefix=${prefix%/}
config_dir=${config_dir%/}
unit_dir=${unit_dir%/}

user=homeplm
unit=homeplm.service
dropin_dir="$unit_dir/$unit.d"

say() { printf 'install: %s\n' "$*"; }
die() { printf 'install: error: %s\n' "$*" >&2; exit 1; }

# Runs a command, or prints it under --dry-run.
run() {
    if ((dry_run)); then
        printf '[dry-run] %s\n' "$*"
    else
        "$@"
    fi
}

# write_file PATH MODE OWNER:GROUP [SHOW]: writes stdin to PATH (atomically); under --dry-run
# prints it instead (only the lines matching the grep pattern SHOW, when given).
write_file() {
    local path=$1 mode=$2 owner=$3 show=${4:-} content
    content="$(cat)"
    if ((dry_run)); then
        printf '[dry-run] write %s (mode %s, %s):\n' "$path" "$mode" "$owner"
        if [[ -n "$show" ]]; then
            printf '%s\n' "$content" | grep -E "$show" | sed 's/^/    | /'
        else
            printf '%s\n' "$content" | sed 's/^/    | /'
        fi
        return
    fi
    local tmp
    tmp="$(mktemp "$path.XXXXXX")"
    printf '%s\n' "$content" >"$tmp"
    chmod "$mode" "$tmp"
    chown "$owner" "$tmp"
    mv -f "$tmp" "$path"
}

if ((!dry_run)) && [[ "$(id -u)" -ne 0 ]]; then
    die "run this as root (sudo bash $0), or add --dry-run to see what it would do"
fi
[[ -n "$prefix" && "$prefix" != / ]] || die "refusing --prefix '/'"
[[ "$prefix" != "$src" ]] || die "--prefix is this checkout itself; choose another directory"
umask 022

# systemd is only usable when it is PID 1 (not in a container or a chroot).
systemd_running() { [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; }

# --- 1. The service user ------------------------------------------------------------------------
service_group=root
if ((make_user)); then
    service_group=$user
    if getent passwd "$user" >/dev/null; then
        say "user $user exists"
        if getent group audio >/dev/null && ! id -nG "$user" | tr ' ' '\n' | grep -qx audio; then
            run usermod --append --groups audio "$user"
        fi
    else
        say "creating system user $user (no login, home $state_dir, groups audio)"
        groups=()
        getent group audio >/dev/null && groups=(--groups audio)
        run useradd --system --user-group --home-dir "$state_dir" --no-create-home \
            --shell /usr/sbin/nologin --comment "homeplm voice assistant" "${groups[@]}" "$user"
    fi
else
    say "--no-user: not creating the $user user"
fi
# Under --dry-run the user may not exist yet: print root-owned commands with the intended group.
owner_group=$service_group
if ((dry_run)) && ! getent group "$owner_group" >/dev/null; then
    owner_group=root
fi

# --- 2. The code and its virtual environment ----------------------------------------------------
say "copying $src to $prefix (without .venv, .git and caches)"
excludes=(.venv .git .mypy_cache .pytest_cache .ruff_cache __pycache__ '*.pyc' '*.egg-info' build state out)
run mkdir -p "$prefix"
if command -v rsync >/dev/null 2>&1; then
    rsync_args=(-a --delete '--chmod=u+rwX,go+rX,go-w')
    for pattern in "${excludes[@]}"; do
        rsync_args+=(--exclude "/$pattern")
    done
    rsync_args+=(--exclude __pycache__ --exclude '*.pyc')
    run rsync "${rsync_args[@]}" "$src/" "$prefix/"
else
    tar_args=()
    for pattern in "${excludes[@]}"; do
        tar_args+=("--exclude=./$pattern")
    done
    tar_args+=(--exclude=__pycache__ --exclude='*.pyc')
    if ((dry_run)); then
        printf '[dry-run] tar -C %s %s -cf - . | tar -C %s -xf -\n' "$src" "${tar_args[*]}" "$prefix"
    else
        tar -C "$src" "${tar_args[@]}" -cf - . | tar -C "$prefix" --no-same-owner -xf -
    fi
fi
# The code belongs to root: the service can read it, never change it.
run chown -R root:root "$prefix"
run chmod -R u+rwX,go+rX,go-w "$prefix"
# Marks the directory as an installation, so uninstall.sh knows it may remove it.
if ((dry_run)); then
    printf '[dry-run] write %s/.homeplm-install\n' "$prefix"
else
    printf 'installed from %s on %s\n' "$src" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$prefix/.homeplm-install"
fi

if ((run_setup)); then
    say "building $prefix/.venv (scripts/setup.sh; the first time compiles llama-cpp-python, minutes)"
    run bash "$prefix/scripts/setup.sh"
else
    say "--no-setup: not building $prefix/.venv"
fi

# --- 3. Configuration ---------------------------------------------------------------------------
run install -d -m 0755 -o root -g root "$config_dir"
config="$config_dir/homeplm.yaml"
if [[ -e "$config" ]]; then
    say "$config exists: keeping the household's configuration"
else
    say "installing the default configuration as $config"
    run install -m 0644 -o root -g root "$src/configs/homeplm.yaml" "$config"
fi

env_file="$config_dir/homeplm.env"
if [[ -e "$env_file" ]]; then
    say "$env_file exists: keeping it"
else
    say "creating $env_file for secrets (mode 0640, root:$owner_group)"
    write_file "$env_file" 0640 "root:$owner_group" <<'EOF'
# homeplm secrets, read by systemd (EnvironmentFile=) and never logged. KEY=value, one a line.
#
# The MQTT broker password (mqtt.password_env in homeplm.yaml names this variable):
#HOMEPLM_MQTT_PASSWORD=
#
# The expert model's API key, if its endpoint wants one (expert.api_key_env):
#HOMEPLM_EXPERT_API_KEY=
EOF
fi

# --- 4. The network allow list ------------------------------------------------------------------
# Prints the configured mqtt.host, the host of expert.url and of each satellite's uri, one a line
# (nothing for null). A small reader for these keys, so it works before any .venv exists.
configured_hosts() {
    local file=$1
    [[ -r "$file" ]] || return 0
    awk '
        function value(line) {
            sub(/^[^:]*:[ \t]*/, "", line)
            if (line ~ /^"/) { sub(/^"/, "", line); sub(/".*$/, "", line) }
            else if (line ~ /^\047/) { sub(/^\047/, "", line); sub(/\047.*$/, "", line) }
            else { sub(/[ \t]+#.*$/, "", line); sub(/[ \t]+$/, "", line) }
            return line
        }
        /^[^ \t#][^:]*:/ { section = $0; sub(/:.*/, "", section); next }
        section == "mqtt" && /^[ \t]+host:/ { v = value($0); if (v != "" && v != "null" && v != "~") print v }
        section == "expert" && /^[ \t]+url:/ {
            v = value($0)
            if (v == "" || v == "null" || v == "~") next
            sub(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//, "", v)   # scheme
            sub(/[\/?#].*$/, "", v)                      # path
            sub(/^.*@/, "", v)                           # user:password@
            if (v ~ /^\[/) { sub(/^\[/, "", v); sub(/\].*$/, "", v) }   # [v6]:port
            else sub(/:[0-9]+$/, "", v)                  # :port
            if (v != "") print v
        }
        section == "satellites" && /^[ \t-]+uri:/ {
            v = value($0)
            sub(/^tcp:\/\//, "", v)
            if (v ~ /^\[/) { sub(/^\[/, "", v); sub(/\].*$/, "", v) }   # [v6]:port
            else sub(/:[0-9]+$/, "", v)
            if (v != "") print v
        }
    ' "$file"
}

# Prints the host Home Assistant's Wyoming connections come in on when wyoming.enabled is true and
# it listens beyond loopback (nothing otherwise): they come from anywhere on the home network.
wyoming_listens() {
    local file=$1
    [[ -r "$file" ]] || return 0
    awk '
        /^[^ \t#][^:]*:/ { section = $0; sub(/:.*/, "", section); next }
        section == "wyoming" && /^[ \t]+enabled:[ \t]*true/ { on = 1 }
        section == "wyoming" && /^[ \t]+uri:/ { uri = $0; sub(/^[^:]*:[ \t]*/, "", uri); sub(/[ \t]+#.*$/, "", uri) }
        END {
            if (!on) exit
            if (uri == "") uri = "tcp://0.0.0.0:10700"
            if (uri ~ /^tcp:\/\/(127\.|localhost|\[::1\])/) exit
            print uri
        }
    ' "$file"
}

# Prints the IP addresses of a host name or literal, one a line; nothing when it does not resolve.
addresses_of() {
    local host=$1
    if [[ "$host" =~ ^[0-9.]+$ || "$host" == *:* ]]; then
        printf '%s\n' "$host"
        return
    fi
    getent ahosts "$host" 2>/dev/null | awk '{print $1}' | sort -u || true
}

# The DNS servers the box uses: a broker given by name is looked up at run time, through them.
nameservers() {
    [[ -r /etc/resolv.conf ]] || return 0
    awk '$1 == "nameserver" {print $2}' /etc/resolv.conf | sed 's/%.*//'
}

network_dropin="$dropin_dir/network.conf"
config_for_hosts="$config"
[[ -e "$config_for_hosts" ]] || config_for_hosts="$src/configs/homeplm.yaml" # dry run, first install
mapfile -t hosts < <(configured_hosts "$config_for_hosts")
allow=()
unresolved=()
by_name=0
for host in "${hosts[@]}"; do
    mapfile -t addrs < <(addresses_of "$host")
    if ((${#addrs[@]} == 0)); then
        unresolved+=("$host")
    else
        allow+=("${addrs[@]}")
        [[ "$host" =~ ^[0-9.]+$ || "$host" == *:* ]] || by_name=1
    fi
done

wyoming_uri="$(wyoming_listens "$config_for_hosts")"
if [[ -n "$wyoming_uri" ]]; then
    say "wyoming.enabled on $wyoming_uri: Home Assistant connects in from the home network, so keeping the unit's allow list (loopback and the private ranges)"
    run rm -f "$network_dropin"
elif ((${#hosts[@]} == 0)); then
    say "no mqtt.host, expert.url or satellites configured: keeping the unit's allow list (loopback and the private ranges)"
    run rm -f "$network_dropin"
elif ((${#unresolved[@]})); then
    say "cannot resolve ${unresolved[*]}: keeping the unit's allow list (loopback and the private ranges)"
    run rm -f "$network_dropin"
else
    if ((by_name)); then
        mapfile -t dns < <(nameservers)
        allow+=("${dns[@]}")
    fi
    mapfile -t allow < <(printf '%s\n' "${allow[@]}" | grep -v '^$' | sort -u)
    say "narrowing network egress to loopback and ${allow[*]} (${hosts[*]})"
    run install -d -m 0755 "$dropin_dir"
    write_file "$network_dropin" 0644 root:root <<EOF
# Written by scripts/install.sh from $config (${hosts[*]}):
# homeplm may reach only loopback, its MQTT broker / expert host / satellites and the DNS servers
# that name them. Run install.sh again after changing mqtt.host, expert.url, satellites or wyoming
# (or if a host's address changes),
# or delete this file and \`systemctl daemon-reload\` to allow the whole home network again.
[Service]
IPAddressAllow=
IPAddressAllow=localhost
IPAddressAllow=$(printf '%s ' "${allow[@]}" | sed 's/ $//')
EOF
fi

# --- 5. The unit --------------------------------------------------------------------------------
say "installing $unit_dir/$unit"
run install -d -m 0755 "$unit_dir"
unit_text="$(sed \
    -e "s#/opt/homeplm/#$prefix/#g" \
    -e "s#/etc/homeplm/#$config_dir/#g" \
    "$src/systemd/$unit")"
if ((!make_user)); then
    # No service user: leave User=/Group= for the household to set in a drop-in.
    say "--no-user: the unit still says User=$user; create that user before starting it"
fi
write_file "$unit_dir/$unit" 0644 root:root '^(ExecStart|EnvironmentFile|Documentation)=' <<<"$unit_text"

# --- 6. systemd ---------------------------------------------------------------------------------
if ((!use_systemd)); then
    say "--no-systemd: not calling systemctl; later: systemctl daemon-reload && systemctl enable --now homeplm"
elif ! systemd_running; then
    say "systemd is not running here (a container or chroot?): skipping systemctl;"
    say "on the real system: systemctl daemon-reload && systemctl enable --now homeplm"
else
    was_active=0
    systemctl is-active --quiet "$unit" && was_active=1
    run systemctl daemon-reload
    run systemctl enable --now "$unit"
    if ((was_active)); then
        say "it was already running: restarting it on the new code and unit"
        run systemctl try-restart "$unit"
    fi
    say "done: journalctl -u homeplm -f   (systemctl status homeplm shows its status line)"
fi
((dry_run)) && say "dry run: nothing was changed"
exit 0
