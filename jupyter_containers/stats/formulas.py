"""The docker CLI's formulas (``cli/command/container/stats_helpers.go``) over
the engine's raw stats JSON; never over formatted strings.

Every function takes one frame of ``/containers/{id}/stats`` as a dict.
"""

from __future__ import annotations

# the figures of one row, in this order, after ``time``; sizes and counters are bytes
FIGURES = ("cpu_percent", "mem_usage", "mem_limit", "mem_percent", "net_rx", "net_tx",
           "block_read", "block_write", "pids")


def cpu_percent(raw: dict) -> float:
    """(container CPU delta / system CPU delta) x online CPUs x 100, against ``precpu_stats``.

    0.0 when either delta is not positive (the CLI's rule). A stream's first
    frame has empty ``precpu_stats``, so its deltas are the counters since boot
    and its figure means nothing: callers drop that frame.
    """
    cpu = raw.get("cpu_stats") or {}
    pre = raw.get("precpu_stats") or {}
    usage = cpu.get("cpu_usage") or {}
    cpu_delta = float(usage.get("total_usage") or 0) - float((pre.get("cpu_usage") or {}).get("total_usage") or 0)
    system_delta = float(cpu.get("system_cpu_usage") or 0) - float(pre.get("system_cpu_usage") or 0)
    online = float(cpu.get("online_cpus") or 0) or float(len(usage.get("percpu_usage") or ()))
    if system_delta > 0 and cpu_delta > 0:
        return cpu_delta / system_delta * online * 100.0
    return 0.0


def mem_usage(raw: dict) -> float:
    """Usage less the inactive page cache: ``total_inactive_file`` on cgroup v1,
    ``inactive_file`` on cgroup v2 (each only when below the usage)."""
    memory = raw.get("memory_stats") or {}
    usage = float(memory.get("usage") or 0)
    stats = memory.get("stats") or {}
    if "total_inactive_file" in stats:  # cgroup v1
        inactive = float(stats["total_inactive_file"])
        if inactive < usage:
            return usage - inactive
    inactive = float(stats.get("inactive_file") or 0)  # cgroup v2
    if inactive < usage:
        return usage - inactive
    return usage


def mem_limit(raw: dict) -> float:
    return float((raw.get("memory_stats") or {}).get("limit") or 0)


def mem_percent(used: float, limit: float) -> float:
    return used / limit * 100.0 if limit else 0.0


def network(raw: dict) -> tuple[float, float]:
    """Received and sent bytes, summed over the container's interfaces."""
    rx = tx = 0.0
    for interface in (raw.get("networks") or {}).values():
        rx += float(interface.get("rx_bytes") or 0)
        tx += float(interface.get("tx_bytes") or 0)
    return rx, tx


def block_io(raw: dict) -> tuple[float, float]:
    """Bytes read and written, from ``io_service_bytes_recursive`` by op
    ("Read"/"Write" on cgroup v1, "read"/"write" on v2)."""
    read = write = 0.0
    for entry in (raw.get("blkio_stats") or {}).get("io_service_bytes_recursive") or ():
        op = (entry.get("op") or " ")[0]
        if op in "rR":
            read += float(entry.get("value") or 0)
        elif op in "wW":
            write += float(entry.get("value") or 0)
    return read, write


def pids(raw: dict) -> float:
    return float((raw.get("pids_stats") or {}).get("current") or 0)


def figures(raw: dict) -> tuple[float, ...]:
    """One row's figures, in ``FIGURES`` order."""
    used, limit = mem_usage(raw), mem_limit(raw)
    return (cpu_percent(raw), used, limit, mem_percent(used, limit), *network(raw), *block_io(raw), pids(raw))
