"""The jupyter_server extension: a REST API for the JupyterLab sidebar, over the engine layer.

Enabled by the config file the package installs
(etc/jupyter/jupyter_server_config.d/jupyter_containers.json).
"""

from __future__ import annotations


def _jupyter_server_extension_points():
    return [{"module": "jupyter_containers.server"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from ..policy import ContainersPolicy
    from .handlers import State, handlers

    policy = ContainersPolicy(parent=serverapp)
    web_app = serverapp.web_app
    web_app.settings["jupyter_containers"] = State(policy)
    web_app.add_handlers(".*$", handlers(web_app.settings["base_url"]))
    serverapp.log.info("jupyter-containers: REST API at %sjupyter-containers/api/ (policy profile %r)",
                       web_app.settings["base_url"], policy.profile)
