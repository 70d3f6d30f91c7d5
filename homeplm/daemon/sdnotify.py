"""systemd's sd_notify protocol in pure Python: readiness, status, reload, stop and watchdog pings.

Under ``Type=notify`` systemd passes ``$NOTIFY_SOCKET`` (an AF_UNIX datagram socket; a leading '@'
means Linux's abstract namespace) and, with ``WatchdogSec=``, ``$WATCHDOG_USEC`` and
``$WATCHDOG_PID``. Without them (a terminal, the tests) every call is a no-op returning False, so
the daemon calls these unconditionally.

    sdnotify.ready("listening")          # after the models are loaded
    sdnotify.status("reloading config")  # free-form, shown by `systemctl status`
    sdnotify.reloading(); ...; sdnotify.ready()
    sdnotify.stopping()

The watchdog pings come from a coroutine on the daemon's own loop (``watchdog_loop``): if the loop
hangs, the pings stop and systemd kills and restarts the daemon (``Restart=on-failure``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time

log = logging.getLogger(__name__)

__all__ = [
    "notify",
    "ready",
    "reloading",
    "status",
    "stopping",
    "watchdog",
    "watchdog_interval_s",
    "watchdog_loop",
]


def _address(raw: str) -> str | bytes | None:
    if raw.startswith("@"):
        return b"\0" + raw[1:].encode()  # abstract namespace
    if raw.startswith("/"):
        return raw
    return None  # vsock (vsock:CID:PORT) and anything else: not supported here


def notify(state: str) -> bool:
    """Send ``state`` ("READY=1", "STATUS=…", newline-separated assignments) to $NOTIFY_SOCKET.

    Returns True when sent; False when $NOTIFY_SOCKET is unset or unusable, or sending failed
    (logged at debug: a lost notification must never take the daemon down).
    """
    raw = os.environ.get("NOTIFY_SOCKET", "")
    if not raw:
        return False
    address = _address(raw)
    if address is None:
        log.debug("NOTIFY_SOCKET %r: unsupported address", raw)
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as err:
        log.debug("sd_notify %r to %r failed: %s", state, raw, err)
        return False
    return True


def _clean(text: str) -> str:
    # One assignment per line: a newline in the status text would start a new (bogus) assignment.
    return " ".join(text.splitlines())


def ready(status_text: str | None = None) -> bool:
    """READY=1 (and STATUS=…): start-up (or a reload) has finished; systemd starts dependants."""
    return notify("READY=1" + (f"\nSTATUS={_clean(status_text)}" if status_text else ""))


def reloading() -> bool:
    """RELOADING=1 with MONOTONIC_USEC (systemd >= 253 wants it); send ready() when done."""
    usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return notify(f"RELOADING=1\nMONOTONIC_USEC={usec}")


def stopping() -> bool:
    """STOPPING=1: shutting down on purpose."""
    return notify("STOPPING=1")


def status(text: str) -> bool:
    """STATUS=…: one line shown by `systemctl status`."""
    return notify(f"STATUS={_clean(text)}")


def watchdog() -> bool:
    """WATCHDOG=1: one keep-alive ping."""
    return notify("WATCHDOG=1")


def watchdog_interval_s() -> float | None:
    """The watchdog timeout in seconds from $WATCHDOG_USEC, or None when there is no watchdog.

    None too when $WATCHDOG_PID is set and is not this process (the variables were inherited by a
    child), or the value is not a positive integer.
    """
    raw_usec = os.environ.get("WATCHDOG_USEC", "")
    if not raw_usec:
        return None
    raw_pid = os.environ.get("WATCHDOG_PID", "")
    if raw_pid:
        try:
            if int(raw_pid) != os.getpid():
                return None
        except ValueError:
            return None
    try:
        usec = int(raw_usec)
    except ValueError:
        return None
    return usec / 1_000_000 if usec > 0 else None


async def watchdog_loop(interval_s: float | None = None) -> None:
    """Ping the watchdog every half of ``interval_s`` (default: $WATCHDOG_USEC) until cancelled.

    Runs on the daemon's event loop, so the pings stop whenever the loop stops turning: a blocked or
    wedged loop misses the deadline and systemd restarts the daemon. Returns at once when there is
    no watchdog. Cancel it (the daemon's task group does) on shutdown.
    """
    if interval_s is None:
        interval_s = watchdog_interval_s()
    if interval_s is None or interval_s <= 0:
        return
    period = interval_s / 2
    while True:
        watchdog()
        await asyncio.sleep(period)
