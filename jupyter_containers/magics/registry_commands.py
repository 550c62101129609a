"""``%container`` subcommands for registries: login, logout, and browsing through
the Registry HTTP API v2 (``registry ls|tags|manifest|rm``)."""

from __future__ import annotations

import os

from ..engine.registry import DOCKER_HUB
from ..engine.registry_api import Registries
from .commands import cli_error
from .container import container_commands as cli
from .registry import arg, positive


def _password(ctx, args) -> str:
    """The password, from a variable, an environment variable or a prompt; never from the line."""
    if args.password is not None:
        raise cli_error("login", "a password on the line would be kept in the notebook and its history; "
                                 "use --password-env NAME, --password-variable NAME, or leave both out to be asked")
    if args.password_variable:
        if args.password_variable not in ctx.shell.user_ns:
            raise cli_error("login", f"no variable named {args.password_variable!r} in this notebook")
        return str(ctx.shell.user_ns[args.password_variable])
    if args.password_env:
        if args.password_env not in os.environ:
            raise cli_error("login", f"the environment variable {args.password_env} is not set")
        return os.environ[args.password_env]
    import getpass

    return getpass.getpass(f"password for {args.username} at {args.registry}: ")


@cli.command("login", "Log in to a registry; the password is never part of the cell, its output or history",
             arg("registry", nargs="?", default=DOCKER_HUB, help="HOST[:PORT] (default: Docker Hub)"),
             arg("-u", "--username", required=True),
             arg("-p", "--password", help="refused: a password on the line would be kept; use the options below"),
             arg("--password-variable", metavar="NAME", help="take the password from this Python variable"),
             arg("--password-env", metavar="NAME", help="take the password from this environment variable"),
             arg("--save", action="store_true",
                 help="also keep it in ~/.docker/config.json (or its credential helper), as `docker login` does"))
def login(ctx, args):
    password = _password(ctx, args)
    saved = ctx.engine.credentials.login(args.registry, args.username, password, save=args.save)
    print(f"logged in to {args.registry} as {args.username}" + (f" (saved in {saved})" if saved else ""))


@cli.command("logout", "Forget the login for a registry (this kernel's, and the one saved in ~/.docker/config.json)",
             arg("registry", nargs="?", default=DOCKER_HUB),
             arg("--keep-saved", action="store_true", help="forget only this kernel's login"))
def logout(ctx, args):
    had = ctx.engine.credentials.logout(args.registry, saved=not args.keep_saved)
    print(f"logged out of {args.registry}" if had else f"was not logged in to {args.registry}")


PAGE = arg("-n", "--page-size", type=positive(int), default=100, help="entries asked for per request (the API pages)")


@cli.command("registry ls", "The repositories a registry holds (a DataFrame)", arg("registry", help="HOST[:PORT]"),
             PAGE)
def registry_ls(ctx, args):
    return Registries.of(ctx.engine).catalog_frame(args.registry, page_size=args.page_size)


@cli.command("registry tags", "The tags of a repository (a DataFrame)", arg("repository", help="REGISTRY/NAME"),
             PAGE)
def registry_tags(ctx, args):
    return Registries.of(ctx.engine).tags_frame(args.repository, page_size=args.page_size)


@cli.command("registry manifest", "An image's manifest: media type, digest, config, layers or platforms",
             arg("image", help="REGISTRY/NAME[:TAG|@DIGEST]"))
def registry_manifest(ctx, args):
    return Registries.of(ctx.engine).manifest(args.image)


@cli.command("registry rm", "Delete an image from its registry, by digest (its other tags on that digest go too)",
             arg("image", help="REGISTRY/NAME:TAG or REGISTRY/NAME@DIGEST"))
def registry_rm(ctx, args):
    digest = Registries.of(ctx.engine).delete(args.image)
    print(f"deleted {args.image} ({digest})")
