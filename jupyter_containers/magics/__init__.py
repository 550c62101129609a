"""IPython magics: ``%container`` and ``%%container``."""

from .container import ContainerMagics
from . import commands, run_commands, exec_commands, image_commands, system_commands, file_commands  # noqa: F401  (they register the subcommands)
from . import registry_commands  # noqa: F401
from . import stats_commands  # noqa: F401
from . import dashboard_commands  # noqa: F401
from . import diagram_commands  # noqa: F401
from . import kernel_commands  # noqa: F401
from . import swarm_commands, node_commands  # noqa: F401


def load_ipython_extension(shell) -> None:
    magics = ContainerMagics(shell=shell, config=shell.config)
    shell.register_magics(magics)
    from .compose import ComposeMagics

    shell.register_magics(ComposeMagics(shell=shell, config=shell.config, container_magics=magics))


__all__ = ["ContainerMagics", "load_ipython_extension"]
