"""Registry credentials for the engine calls of this process (never written anywhere)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import specs
from .errors import RegistryAuthError

if TYPE_CHECKING:
    from .client import Engine

DOCKER_HUB = "https://index.docker.io/v1/"


def registry_of(ref: str) -> str:
    """The registry an image reference lives in (Docker Hub's address for bare names)."""
    from docker.auth import resolve_repository_name

    repository, _ = specs.split_reference(ref)
    registry, _ = resolve_repository_name(repository)
    return DOCKER_HUB if registry in ("docker.io", "index.docker.io") else registry


class Credentials:
    """Logins of this kernel, by registry; passwords stay in memory only."""

    def __init__(self, engine: "Engine"):
        self._engine = engine
        self._by_registry: dict[str, dict] = {}

    def login(self, registry: str, username: str, password: str) -> None:
        """Check the credentials with the registry (through the engine) and keep them."""
        registry = registry or DOCKER_HUB
        try:
            with self._engine.translated("login", "registry", registry):
                self._engine.api.login(username, password=password, registry=registry, reauth=True)
        except RegistryAuthError:
            raise RegistryAuthError(f"{registry} refused the username or password of {username!r}",
                                    status=401, operation="login", target=registry) from None
        self._by_registry[registry] = {"username": username, "password": password, "serveraddress": registry}

    def logout(self, registry: str) -> bool:
        return self._by_registry.pop(registry or DOCKER_HUB, None) is not None

    def for_image(self, ref: str) -> dict | None:
        return self._by_registry.get(registry_of(ref))

    def __repr__(self) -> str:  # never show a password
        return f"<Credentials for {sorted(self._by_registry)}>"
