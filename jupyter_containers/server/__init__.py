"""The jupyter_server extension: a REST API for the JupyterLab sidebar, over the engine layer.

Enabled by the config file the package installs
(etc/jupyter/jupyter_server_config.d/jupyter_containers.json).
"""

from __future__ import annotations

from traitlets import Float, Int
from traitlets.config import Configurable


class ContainersAPI(Configurable):
    """Limits of the REST API (``c.ContainersAPI.max_streams = 200`` in a server config)."""

    max_streams = Int(96, help="Streams (followed logs and pulls) open at once; each holds a thread. "
                               "One more is answered 503 too-many-streams at once.").tag(config=True)
    stats_idle = Float(30.0, help="Seconds without a GET stats after which the shared stats sampler "
                                  "stops following the containers.").tag(config=True)


def _jupyter_server_extension_points():
    return [{"module": "jupyter_containers.server"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from ..policy import ContainersPolicy
    from .handlers import State, handlers

    policy = ContainersPolicy(parent=serverapp)
    limits = ContainersAPI(parent=serverapp)
    web_app = serverapp.web_app
    web_app.settings["jupyter_containers"] = State(policy, max_streams=limits.max_streams,
                                                   stats_idle=limits.stats_idle)
    web_app.add_handlers(".*$", handlers(web_app.settings["base_url"]))
    serverapp.log.info("jupyter-containers: REST API at %sjupyter-containers/api/ (policy profile %r)",
                       web_app.settings["base_url"], policy.profile)
