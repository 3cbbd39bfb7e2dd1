"""How a machine joins the render cluster: ``ray start`` with what a render node offers.

A node offers ``tuanyuan_render`` units: a render actor takes one, so only machines that joined
this way (with this software and its models installed) are given renders, and a node offers as
many as it should run at once (one per GPU, or as many CPU renders as it has room for).
"""

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

RENDER_RESOURCE = "tuanyuan_render"


def worker_command(address: str, render_actors: int, extra: Sequence[str] = ()) -> list[str]:
    """``ray start`` joining the head at ``address`` as a render node, in the foreground
    (``--block``: it ends, taking the node's processes with it, when it is stopped)."""
    return [
        ray_executable(),
        "start",
        f"--address={address}",
        f"--resources={json.dumps({RENDER_RESOURCE: render_actors})}",
        "--disable-usage-stats",
        "--block",
        *extra,
    ]


def ray_executable() -> str:
    """The ``ray`` command of this installation (beside this Python), else the one on PATH."""
    beside = Path(sys.executable).parent / "ray"
    return str(beside) if beside.exists() else "ray"


def visible_gpus() -> int:
    """NVIDIA GPUs on this machine, as ``nvidia-smi -L`` lists them; 0 without the tool."""
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return 0
    try:
        listing = subprocess.run([tool, "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(line.startswith("GPU ") for line in listing.stdout.splitlines())
