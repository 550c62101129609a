"""Registry logins: kept in memory for the engine calls of this kernel, and, when
asked (``save=True``), in ``~/.docker/config.json`` the way the docker CLI keeps them
(base64 ``auth``, or the credential helper the file names). Logins saved there by
the docker CLI are used too. A password never appears in a message or a repr.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from . import specs
from .errors import ContainersError, RegistryAuthError, one_line

if TYPE_CHECKING:
    from .client import Engine

DOCKER_HUB = "https://index.docker.io/v1/"


def registry_of(ref: str) -> str:
    """The registry an image reference lives in (Docker Hub's address for bare names)."""
    from docker.auth import resolve_repository_name

    repository, _ = specs.split_reference(ref)
    registry, _ = resolve_repository_name(repository)
    return DOCKER_HUB if registry in ("docker.io", "index.docker.io") else registry


def normalize(registry: str | None) -> str:
    """The key a registry's login is kept under: ``host[:port]``, or Docker Hub's address."""
    from .registry_api import parse_registry

    if not registry or registry.rstrip("/") in (DOCKER_HUB.rstrip("/"), "docker.io", "index.docker.io"):
        return DOCKER_HUB
    host = parse_registry(registry)
    return DOCKER_HUB if host == "docker.io" else host


def config_file() -> Path:
    """The docker CLI's config file: ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``."""
    folder = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return Path(folder) / "config.json"


class DockerConfig:
    """Logins in the docker CLI's config file, read and written the way the CLI does."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path else config_file()

    def read(self) -> dict:
        try:
            return json.loads(self.path.read_text() or "{}")
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ContainersError(f"cannot read {self.path}: {one_line(exc)}", operation="config") from None

    def _write(self, data: dict) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".config.json.")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(data, out, indent="\t")
            os.chmod(temp, 0o600)
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def helper(self, data: dict, registry: str) -> str | None:
        """The credential helper for ``registry`` (``credHelpers``, else ``credsStore``)."""
        return (data.get("credHelpers") or {}).get(registry) or data.get("credsStore") or None

    def get(self, registry: str) -> dict | None:
        """The saved login for ``registry`` (through its credential helper when there is one)."""
        from docker import auth

        if not self.path.is_file():
            return None
        try:
            found = auth.load_config(str(self.path)).resolve_authconfig(registry)
        except Exception:  # noqa: BLE001 - a broken helper or entry means "no saved login"
            return None
        if not found or not found.get("Password") and not found.get("password"):
            return None
        return {"username": found.get("Username") or found.get("username"),
                "password": found.get("Password") or found.get("password"), "serveraddress": registry}

    def save(self, registry: str, username: str, password: str) -> str:
        """Keep a login as ``docker login`` does; where it went (the file, or a helper)."""
        data = self.read()
        helper = self.helper(data, registry)
        auths = data.setdefault("auths", {})
        if helper:
            self._store(helper).store(server=registry, username=username, secret=password)
            auths[registry] = {}
        else:
            auths[registry] = {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}
        self._write(data)
        return f"docker-credential-{helper}" if helper else str(self.path)

    def remove(self, registry: str) -> bool:
        """Forget a saved login, as ``docker logout`` does; whether there was one."""
        data = self.read()
        helper = self.helper(data, registry)
        removed = (data.get("auths") or {}).pop(registry, None) is not None
        if helper:
            from docker.credentials import errors as cred_errors

            try:
                self._store(helper).erase(registry)
                removed = True
            except cred_errors.StoreError:
                pass
        if removed:
            self._write(data)
        return removed

    @staticmethod
    def _store(helper: str):
        from docker.credentials import Store
        from docker.credentials.errors import InitializationError

        try:
            return Store(helper)
        except InitializationError:
            raise ContainersError(f"the credential helper docker-credential-{helper} is not installed",
                                  operation="login") from None


class Credentials:
    """Logins of this kernel, by registry; passwords stay in memory unless saved."""

    def __init__(self, engine: "Engine"):
        self._engine = engine
        self._by_registry: dict[str, dict] = {}
        self._registries = None  # the v2 API client, made by Registries.of(engine)

    @property
    def docker_config(self) -> DockerConfig:
        return DockerConfig()  # found anew each time: DOCKER_CONFIG may change

    def login(self, registry: str | None, username: str, password: str, *, save: bool = False) -> str | None:
        """Check the login with the registry (directly, then through the engine) and keep it.

        With ``save`` it also goes to the docker CLI's config file; where it was saved.
        """
        from .registry_api import Registries

        registry = normalize(registry)
        if not username or not password:
            raise specs.InvalidArgument("login needs a username and a password")
        Registries.of(self._engine).check_login(registry, username, password)
        try:
            with self._engine.translated("login", "registry", registry):
                self._engine.api.login(username, password=password, registry=registry, reauth=True)
        except ContainersError as exc:  # the registry took it, the engine did not: it sees another network
            if isinstance(exc, RegistryAuthError):
                raise RegistryAuthError(f"{registry} refused the username or password of {username!r}",
                                        status=401, operation="login", target=registry) from None
            raise ContainersError(f"the engine could not log in to {registry}: {exc}".replace(password, "***"),
                                  status=exc.status, operation="login", target=registry) from None
        self._by_registry[registry] = {"username": username, "password": password, "serveraddress": registry}
        self._forget_tokens(registry)
        return self.docker_config.save(registry, username, password) if save else None

    def logout(self, registry: str | None, *, saved: bool = True) -> bool:
        """Forget the kernel's login (and, with ``saved``, the config file's); whether there was one."""
        registry = normalize(registry)
        had = self._by_registry.pop(registry, None) is not None
        if saved:
            had = self.docker_config.remove(registry) or had
        self._forget_tokens(registry)
        return had

    def for_registry(self, registry: str) -> dict | None:
        """The login to use with ``registry``: this kernel's, else the docker CLI's saved one."""
        registry = normalize(registry)
        return self._by_registry.get(registry) or self.docker_config.get(registry)

    def for_image(self, ref: str) -> dict | None:
        return self.for_registry(registry_of(ref))

    def _forget_tokens(self, registry: str) -> None:
        if self._registries is not None:
            self._registries.forget(registry)

    def __repr__(self) -> str:  # never show a password
        return f"<Credentials for {sorted(self._by_registry)}>"
