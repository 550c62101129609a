"""The kernels that run in containers on an engine, as a DataFrame (``%container kernels``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .provisioner import KERNEL_LABEL, NOTEBOOK_LABEL, SPEC_LABEL

if TYPE_CHECKING:
    import pandas

    from ..engine import Engine

COLUMNS = ("kernel_id", "kernelspec", "notebook", "image", "container", "state", "cpu_percent", "mem_usage")


def kernel_frame(engine: "Engine", all: bool = False) -> "pandas.DataFrame":
    """One row per kernel container (running ones, or ``all``): the kernel's id and kernelspec, the
    notebook it serves (the server tells the kernel), image, container, state, and CPU % and memory
    of the running ones (one stats snapshot)."""
    import pandas as pd

    from ..stats import snapshot

    found = engine.containers.list(all=all, filters={"label": [KERNEL_LABEL]})
    rows = []
    for container in found:  # the list's labels say it all: no inspect per kernel
        rows.append({"kernel_id": container.labels.get(KERNEL_LABEL), "kernelspec": container.labels.get(SPEC_LABEL),
                     "notebook": container.labels.get(NOTEBOOK_LABEL), "image": container.image,
                     "container": container.name,
                     "state": container.state, "id": container.id})
    running = [row["id"] for row in rows if row["state"] == "running"]
    usage = snapshot(engine, running).set_index("id") if running else None
    for row in rows:
        short = row.pop("id")[:12]
        known = usage is not None and short in usage.index
        row["cpu_percent"] = float(usage.loc[short, "cpu_percent"]) if known else float("nan")
        row["mem_usage"] = int(usage.loc[short, "mem_usage"]) if known else 0
    return pd.DataFrame(rows, columns=list(COLUMNS))
