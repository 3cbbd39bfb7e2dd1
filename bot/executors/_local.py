"""A Ray cluster on this machine, every node a child of this process (``ray start --head
--block``, and ``tuanyuan worker`` for each render node): what the tests and ``tuanyuan bench
queue`` render on.

Each node runs with its own temp dir (Ray's sessions and sockets, and its ``TMPDIR``) and its own
memory folder (``TUANYUAN_MEMORY_DIR``, on /dev/shm: where its render actors make their job
folders, see ``bot/plaintext.py``), so one node can be killed without touching the others,
and stopping the cluster ends exactly the processes it started, never another Ray on the same
machine. Memory settings are small (a head on a small machine otherwise times out), the
dashboard is off and nothing reports usage.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bot.executors._cluster import ray_executable
from bot.plaintext import DEFAULT_MEMORY_DIR, MEMORY_DIR_VARIABLE

OBJECT_STORE_BYTES = 80 * 1024 * 1024
_START_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 20.0
_STARTED = "Ray runtime started"
# A lost node is noticed in about 3 s instead of Ray's default of about 30.
_FAST_HEALTH_CHECKS = {
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}


class ClusterError(Exception):
    """A node did not start (its log says why)."""


@dataclass
class Node:
    name: str
    process: subprocess.Popen[bytes]
    temp_dir: Path  # Ray's session folder lives here, and the node's TMPDIR
    memory_dir: Path  # the node's render actors' job folders (its TUANYUAN_MEMORY_DIR)

    @property
    def job_temp(self) -> Path:
        return self.temp_dir / "tmp"

    def pids(self) -> list[int]:
        """Every live process of the node: whatever was started with its ``TMPDIR``, which
        everything the node spawns inherits (its workers and their render processes too)."""
        marker = b"\0TMPDIR=" + bytes(self.job_temp) + b"\0"
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    environ = b"\0" + (entry / "environ").read_bytes()
                except OSError:
                    continue
                if marker in environ:
                    found.append(int(entry.name))
        return found

    def processes_named(self, needle: bytes) -> list[int]:
        """The node's processes whose command line holds ``needle``."""
        found = []
        for pid in self.pids():
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if needle in command:
                found.append(pid)
        return found


class LocalCluster:
    """A head (which renders nothing) and render nodes added one by one."""

    def __init__(self, root: Path, python_path: str | None = None) -> None:
        self._root = root
        self._python_path = python_path
        self.nodes: dict[str, Node] = {}
        self.address = ""

    def start_head(self, num_cpus: int = 1) -> str:
        """Start the head node; returns its address (what ``TUANYUAN_RAY_ADDRESS`` names)."""
        port = _free_port()
        command = [
            ray_executable(), "start", "--head", f"--port={port}",
            f"--ray-client-server-port={_free_port()}", f"--dashboard-port={_free_port()}",
            "--include-dashboard=false", "--disable-usage-stats", "--block",
        ]  # fmt: skip
        self._start("head", command + self._node_options("head", num_cpus, num_gpus=0))
        self.address = f"127.0.0.1:{port}"
        return self.address

    def add_node(
        self, name: str, render_actors: int = 1, num_cpus: int = 1, num_gpus: int = 0
    ) -> Node:
        """Start a render node joining the head with ``tuanyuan worker``, as an operator does.

        ``num_gpus`` declares GPUs the machine need not have (Ray's resources are logical): the
        GPU path (one actor per GPU, each holding one) runs without a GPU; 0 ignores real ones.
        """
        options = self._node_options(name, num_cpus, num_gpus)
        command = [
            sys.executable, "-m", "bot.cli", "worker", f"--address={self.address}",
            f"--render-actors={render_actors}", "--", *options,
        ]  # fmt: skip
        return self._start(name, command)

    def kill_raylet(self, name: str) -> None:
        """Kill the node's raylet at once, as a machine that lost power would lose it."""
        for pid in self.nodes[name].processes_named(b"raylet/raylet"):
            os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        """Stop every node (newest first), then kill whatever of theirs is left."""
        for node in reversed(list(self.nodes.values())):
            if node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    node.process.wait(_STOP_TIMEOUT_S)
            for pid in node.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
            node.process.wait()
            shutil.rmtree(node.memory_dir, ignore_errors=True)

    def _node_options(self, name: str, num_cpus: int, num_gpus: int) -> list[str]:
        return [
            "--node-ip-address=127.0.0.1",
            f"--num-cpus={num_cpus}",
            f"--num-gpus={num_gpus}",
            f"--object-store-memory={OBJECT_STORE_BYTES}",
            f"--temp-dir={self._root / name}",
            f"--dashboard-agent-listen-port={_free_port()}",
        ]

    def _start(self, name: str, command: list[str]) -> Node:
        temp_dir = self._root / name
        (temp_dir / "tmp").mkdir(parents=True, exist_ok=True)
        memory_dir = DEFAULT_MEMORY_DIR / f"{self._root.name}-{name}"
        env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", TMPDIR=str(temp_dir / "tmp"))
        env[MEMORY_DIR_VARIABLE] = str(memory_dir)
        env.update(_FAST_HEALTH_CHECKS)
        if self._python_path is not None:
            env["PYTHONPATH"] = self._python_path
        log_path = self._root / f"{name}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                command, stdout=log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        node = Node(name, process, temp_dir, memory_dir)
        self.nodes[name] = node
        deadline = time.monotonic() + _START_TIMEOUT_S
        while _STARTED not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise ClusterError(f"ray node {name} did not start; see {log_path}")
            time.sleep(0.2)
        return node


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
