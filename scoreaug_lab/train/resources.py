"""What the machine can hold: refuse work that cannot fit with one line, before any allocation."""
from __future__ import annotations

import os


def available_memory() -> int:
    """Bytes of memory available to new allocations (Linux: MemAvailable; elsewhere physical memory / 2)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover - exotic platforms
        return 8 * 2**30


def check_fits(what: str, n_bytes: float, share: float = 0.5) -> None:
    """ValueError naming `what` when n_bytes exceeds `share` of the available memory."""
    limit = share * available_memory()
    if n_bytes > limit:
        raise ValueError(f"{what} would need about {n_bytes / 2**30:.1f} GiB, more than this machine can hold "
                         f"({limit / 2**30:.1f} GiB available for it); ask for less")


__all__ = ["available_memory", "check_fits"]
