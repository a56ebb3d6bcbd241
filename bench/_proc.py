"""CPU time of other processes, read from /proc (Linux), for the benchmarks' per-event and
per-request CPU figures (figures that hold whatever else the machine is running)."""

from __future__ import annotations

import os
from collections.abc import Callable


def cpu_seconds(match: Callable[[int, str, list[str]], bool], *, reaped_children: bool = False) -> float:
    """CPU seconds (user + system) used so far by every live process for which
    match(pid, command name, stat fields after the name) is true. In those fields [1] is the
    parent pid, [2] the process group, [11] and [12] utime and stime in clock ticks, [13] and
    [14] the same for children that exited and were waited for (with `reaped_children`: so a
    PostgreSQL backend whose connection closed during the run still counts, through the
    postmaster)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                name, rest = fh.read().split(" (", 1)[1].rsplit(")", 1)
        except (OSError, ValueError):
            continue
        fields = rest.split()
        if match(int(entry), name, fields):
            total += int(fields[11]) + int(fields[12])
            if reaped_children:
                total += int(fields[13]) + int(fields[14])
    return total / tick
