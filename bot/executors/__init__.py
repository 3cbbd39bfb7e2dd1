"""Where renders and detections run: this machine's worker processes, or a Ray cluster.

One interface (``RenderExecutor``) and two implementations chosen by the settings: the embedded
pool (the default; a single machine starts no service) and Ray when ``TUANYUAN_RAY_ADDRESS`` is
set. Render jobs (``bot/jobs.py``) keep the vault: they decrypt a render's inputs and seal what
it made; an executor only moves bytes and runs the engine. /verify's detections
(``bot/verification.py``) go the same way: a fresh process per file, here or on a node.
"""

from bot.config import ConfigError, Settings
from bot.executors._cluster import RENDER_RESOURCE, visible_gpus, worker_command
from bot.executors._embedded import EmbeddedExecutor
from bot.executors._local import LocalCluster
from bot.executors._types import Progress, RenderCrashed, RenderExecutor

__all__ = [
    "RENDER_RESOURCE",
    "EmbeddedExecutor",
    "LocalCluster",
    "Progress",
    "RenderCrashed",
    "RenderExecutor",
    "executor_for",
    "visible_gpus",
    "worker_command",
]


def executor_for(settings: Settings) -> RenderExecutor:
    """The embedded pool, or the Ray cluster when the settings name one (Ray imported only
    then: it is an optional extra)."""
    if settings.ray_address is None:
        return EmbeddedExecutor(settings.render_workers)
    try:
        from bot.executors._ray import RayExecutor
    except ImportError:
        raise ConfigError(
            "TUANYUAN_RAY_ADDRESS is set but Ray is not installed: pip install 'tuanyuan[ray]'."
        ) from None

    return RayExecutor(settings.ray_address, settings.ray_render_actors, settings.ray_max_in_flight)
