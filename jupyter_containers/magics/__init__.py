"""IPython magics: ``%container`` and ``%%container``."""

from .container import ContainerMagics
from . import commands, image_commands, system_commands  # noqa: F401  (they register the subcommands)
from . import registry_commands  # noqa: F401


def load_ipython_extension(shell) -> None:
    shell.register_magics(ContainerMagics(shell=shell, config=shell.config))


__all__ = ["ContainerMagics", "load_ipython_extension"]
