"""The Registry HTTP API v2, spoken directly with ``requests``: list repositories
and tags, read manifests (Docker and OCI, single-platform or index), delete by digest.

Authentication follows what the registry answers in ``WWW-Authenticate``:
``Basic`` sends the kernel's login for that registry, ``Bearer`` fetches a token
from the named realm for the named scope (with the login, or anonymously).
HTTPS is tried first; a registry on a loopback address (which the engine treats
as insecure too) may answer plain HTTP, or TLS with a certificate whose CA is
not in ``/etc/docker/certs.d/HOST:PORT/ca.crt``. Passwords never appear in a message.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from . import specs
from .errors import ContainersError, InvalidArgument, NotFound, RegistryAuthError, one_line

if TYPE_CHECKING:
    import pandas
    import requests

    from .client import Engine
    from .registry import Credentials

CERTS_DIR = "/etc/docker/certs.d"
DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
ACCEPT = ", ".join([OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST])
INDEX_TYPES = (DOCKER_LIST, OCI_INDEX)


class RegistryUnavailable(ContainersError):
    """The registry does not answer: unknown host, nothing listening, TLS trouble."""
    kind = "registry-unavailable"


class DeleteRefused(ContainersError):
    """The registry does not allow deleting (distribution's ``storage.delete.enabled`` is off)."""
    kind = "delete-refused"


# -- references ---------------------------------------------------------------------

@dataclass(frozen=True)
class Reference:
    """An image reference split the way the v2 API needs it."""
    registry: str        # host[:port] as the user wrote it (Docker Hub: docker.io)
    repository: str      # the name inside the registry (Docker Hub: library/ added)
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """What goes after ``/manifests/``: the digest if there is one, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        return text + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


def parse_reference(ref: str) -> Reference:
    """``127.0.0.1:5000/team/app:1.0`` -> Reference; ``InvalidArgument`` if it is not one."""
    from docker.auth import resolve_repository_name

    specs.check_reference(ref)
    name, _, digest = ref.partition("@")
    repository, tag = specs.split_reference(name)
    registry, path = resolve_repository_name(repository)
    if registry in ("docker.io", "index.docker.io") and "/" not in path:
        path = f"library/{path}"
    return Reference(registry, path, tag, digest or None)


def parse_registry(registry: str) -> str:
    """A registry's host[:port], from ``host:port``, ``https://host:port/`` or Docker Hub's address."""
    text = (registry or "").strip()
    host = text.split("://", 1)[-1].split("/", 1)[0]
    if host in ("index.docker.io", "docker.io", "registry-1.docker.io"):
        return "docker.io"
    if not host or not specs._REFERENCE.match(f"{host}/x") or ("." not in host and ":" not in host
                                                                and host != "localhost"):
        raise InvalidArgument(f"invalid registry {text!r}: use HOST[:PORT], e.g. 127.0.0.1:5000")
    return host


def split_host(registry: str) -> tuple[str, int | None]:
    """``host:port`` / ``[::1]:port`` / ``host`` -> (host, port)."""
    if registry.startswith("["):
        host, _, rest = registry[1:].partition("]")
        port = rest.lstrip(":")
    else:
        host, _, port = registry.partition(":")
    return host, int(port) if port.isdigit() else None


def is_loopback(registry: str) -> bool:
    host, _ = split_host(registry)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- records -------------------------------------------------------------------------

@dataclass(frozen=True)
class Descriptor:
    """A blob or manifest a manifest points at."""
    media_type: str
    digest: str
    size: int
    platform: str | None = None  # os/architecture[/variant], for the entries of an index


@dataclass(frozen=True)
class Manifest:
    reference: str
    media_type: str
    digest: str
    size: int
    config: Descriptor | None
    layers: tuple[Descriptor, ...]
    platforms: tuple[Descriptor, ...]  # the manifests of an index / manifest list
    raw: dict = field(repr=False, compare=False, default_factory=dict)

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES or bool(self.platforms)

    @property
    def total_size(self) -> int:
        return sum(d.size for d in self.layers) + (self.config.size if self.config else 0)

    def frame(self) -> "pandas.DataFrame":
        """The layers (or, for an index, the platforms) as a DataFrame."""
        import pandas as pd

        rows = self.platforms if self.is_index else self.layers
        columns = ["platform", "digest", "size", "media_type"] if self.is_index else ["digest", "size", "media_type"]
        return pd.DataFrame([{c: getattr(d, c) for c in columns} for d in rows], columns=columns)

    def _repr_html_(self) -> str:
        head = [("reference", self.reference), ("media type", self.media_type), ("digest", self.digest)]
        if self.config:
            head.append(("config", f"{self.config.digest} ({self.config.size} B)"))
        if not self.is_index:
            head.append(("size", f"{self.total_size / 1e6:.1f} MB in {len(self.layers)} layers"))
        rows = "".join(f"<tr><th style='text-align:left'>{escape(k)}</th><td><code>{escape(str(v))}</code></td></tr>"
                       for k, v in head)
        return f"<table>{rows}</table>{self.frame().to_html(index=False)}"


def _descriptor(data: dict) -> Descriptor:
    platform = data.get("platform")
    if platform:
        platform = "/".join(p for p in (platform.get("os"), platform.get("architecture"),
                                        platform.get("variant")) if p)
    return Descriptor(data.get("mediaType", ""), data.get("digest") or data.get("blobSum", ""),
                      int(data.get("size") or 0), platform or None)


def manifest_from(ref: str, body: bytes, content_type: str, digest: str | None) -> Manifest:
    import json

    data = json.loads(body)
    media_type = data.get("mediaType") or content_type.split(";")[0].strip()
    if not media_type:
        media_type = OCI_INDEX if "manifests" in data else OCI_MANIFEST
    config = _descriptor(data["config"]) if data.get("config") else None
    layers = tuple(_descriptor(d) for d in data.get("layers") or data.get("fsLayers") or ())
    platforms = tuple(_descriptor(d) for d in data.get("manifests") or ())
    return Manifest(ref, media_type, digest or "sha256:" + hashlib.sha256(body).hexdigest(), len(body),
                    config, layers, platforms, data)


# -- the client ------------------------------------------------------------------------

@dataclass
class Connection:
    """How one registry is reached: its base url and how its certificate is checked."""
    registry: str
    url: str
    verify: bool | str
    cert: tuple[str, str] | None = None
    basic: bool = False                                  # the registry asked for Basic auth
    tokens: dict[str, str] = field(default_factory=dict)  # scope -> "Bearer ..."


class Registries:
    """Browse registries through the v2 API with this kernel's logins.

    ``Registries.of(engine)`` is the one shared by everything using ``engine``.
    """

    def __init__(self, credentials: "Credentials | None" = None, *, certs_dir: str | Path = CERTS_DIR,
                 timeout: float = 10.0, insecure: tuple[str, ...] = ()):
        import requests

        self.credentials = credentials
        self.certs_dir = Path(certs_dir)
        self.timeout = timeout
        self.insecure = tuple(insecure)
        self._http = requests.Session()
        self._connections: dict[str, Connection] = {}
        self._lock = threading.Lock()

    @classmethod
    def of(cls, engine: "Engine") -> "Registries":
        """The one shared by everything using ``engine``; when the engine is a replay (or
        the recorder), its requests go over the engine socket (see ``gateway.py``)."""
        credentials = engine.credentials
        if getattr(credentials, "_registries", None) is None:
            registries = cls(credentials)
            if engine.replay is not None:
                from .gateway import RegistryGateway

                registries.through(RegistryGateway(engine))
            credentials._registries = registries
        return credentials._registries

    def through(self, adapter) -> None:
        """Send every registry request through ``adapter`` (a ``requests`` transport adapter)."""
        self._http.mount("http://", adapter)
        self._http.mount("https://", adapter)

    # -- what a user asks for -------------------------------------------------------
    def catalog(self, registry: str, *, page_size: int = 100) -> list[str]:
        """Every repository the registry lists, following its ``Link`` pages."""
        registry = parse_registry(registry)
        names: list[str] = []
        for page in self._pages(registry, f"/v2/_catalog?n={int(page_size)}", "registry:catalog:*",
                                f"{registry} does not list its repositories"):
            names += page.get("repositories") or []
        return names

    def catalog_frame(self, registry: str, *, page_size: int = 100) -> "pandas.DataFrame":
        import pandas as pd

        registry = parse_registry(registry)
        names = self.catalog(registry, page_size=page_size)
        return pd.DataFrame({"repository": names, "image": [f"{registry}/{n}" for n in names]},
                            columns=["repository", "image"])

    def tags(self, repository: str, *, page_size: int = 100) -> list[str]:
        """A repository's tags (``REGISTRY/NAME``; a tag in it is ignored)."""
        ref = parse_reference(repository)
        tags: list[str] = []
        for page in self._pages(ref.registry, f"/v2/{ref.repository}/tags/list?n={int(page_size)}",
                                f"repository:{ref.repository}:pull",
                                f"repository {ref.repository} not found in {ref.registry}"):
            tags += page.get("tags") or []
        return tags

    def tags_frame(self, repository: str, *, page_size: int = 100) -> "pandas.DataFrame":
        import pandas as pd

        ref = parse_reference(repository)
        tags = self.tags(repository, page_size=page_size)
        base = f"{ref.registry}/{ref.repository}"
        return pd.DataFrame({"repository": base, "tag": tags, "image": [f"{base}:{t}" for t in tags]},
                            columns=["repository", "tag", "image"])

    def manifest(self, image: str) -> Manifest:
        """The manifest ``image`` names (``:latest`` without a tag): media type, digest, layers or platforms."""
        ref = parse_reference(image)
        response = self._call(ref.registry, "GET", f"/v2/{ref.repository}/manifests/{ref.reference}",
                              f"repository:{ref.repository}:pull", _missing(ref), headers={"Accept": ACCEPT})
        return manifest_from(str(ref), response.content, response.headers.get("Content-Type", ""),
                             response.headers.get("Docker-Content-Digest"))

    def digest(self, image: str) -> str:
        """The digest of the manifest ``image`` names, from a HEAD request."""
        ref = parse_reference(image)
        if ref.digest:
            return ref.digest
        response = self._call(ref.registry, "HEAD", f"/v2/{ref.repository}/manifests/{ref.reference}",
                              f"repository:{ref.repository}:pull", _missing(ref), headers={"Accept": ACCEPT})
        digest = response.headers.get("Docker-Content-Digest")
        return digest or self.manifest(image).digest

    def delete(self, image: str) -> str:
        """Delete the manifest ``image`` names, by digest (every tag on it goes too); the digest."""
        ref = parse_reference(image)
        digest = self.digest(image)
        self._call(ref.registry, "DELETE", f"/v2/{ref.repository}/manifests/{digest}",
                   f"repository:{ref.repository}:delete", _missing(ref), ok=(200, 202))
        return digest

    def check_login(self, registry: str, username: str, password: str) -> None:
        """Raise unless ``registry`` answers and accepts ``username``/``password``."""
        registry = parse_registry(registry)
        conn = self.connection(registry)
        auth = {"username": username, "password": password}
        response = self._send(conn, "GET", "/v2/", {})
        challenge = response.headers.get("WWW-Authenticate", "") if response.status_code == 401 else ""
        if not challenge:
            return  # open to everyone: any login is good, as for the docker CLI
        header = self._authorize(conn, challenge, "", auth)
        if self._send(conn, "GET", "/v2/", {"Authorization": header}).status_code in (401, 403):
            raise _refused(registry, username)

    # -- connections ------------------------------------------------------------------
    def connection(self, registry: str) -> Connection:
        """How ``registry`` is reached (found once, then kept)."""
        with self._lock:
            if registry not in self._connections:
                self._connections[registry] = self._connect(registry)
            return self._connections[registry]

    def _connect(self, registry: str) -> Connection:
        import requests

        host = DOCKER_HUB_API if registry == "docker.io" else registry
        name, port = split_host(host)
        try:
            socket.getaddrinfo(name, port or 443, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError, ValueError):
            raise RegistryUnavailable(f"unknown registry host {name!r}: the name does not resolve",
                                      operation="connect", target=registry) from None
        folder = self.certs_dir / registry
        ca, cert, key = folder / "ca.crt", folder / "client.cert", folder / "client.key"
        insecure = is_loopback(registry) or registry in self.insecure
        verify: bool | str = str(ca) if ca.is_file() else (not insecure)
        client = (str(cert), str(key)) if cert.is_file() and key.is_file() else None
        try:
            conn = Connection(registry, f"https://{host}", verify, client)
            self._probe(conn)
            return conn
        except requests.exceptions.SSLError as exc:
            if insecure:
                conn = Connection(registry, f"http://{host}", False)
                try:
                    self._probe(conn)
                    return conn
                except requests.exceptions.RequestException:
                    pass
            raise _tls_error(registry, exc, folder) from None
        except requests.exceptions.RequestException as exc:
            raise _down(registry, exc) from None

    def _probe(self, conn: Connection) -> None:
        with _quiet(conn.verify):
            response = self._http.get(conn.url + "/v2/", verify=conn.verify, cert=conn.cert, timeout=self.timeout)
        if response.status_code not in (200, 401):
            raise RegistryUnavailable(f"{conn.registry} does not answer as a registry "
                                      f"(GET /v2/ answered {response.status_code})",
                                      status=response.status_code, operation="connect", target=conn.registry)
        if response.status_code == 401 and response.headers.get("WWW-Authenticate", "").lower().startswith("basic"):
            conn.basic = True

    # -- requests -----------------------------------------------------------------------
    def _send(self, conn: Connection, method: str, path: str, headers: dict) -> "requests.Response":
        import requests

        try:
            with _quiet(conn.verify):
                return self._http.request(method, urljoin(conn.url, path), headers=headers, verify=conn.verify,
                                          cert=conn.cert, timeout=self.timeout)
        except requests.exceptions.RequestException as exc:
            raise _down(conn.registry, exc) from None

    def _call(self, registry: str, method: str, path: str, scope: str, missing: str,
              ok: tuple[int, ...] = (200,), headers: dict | None = None) -> "requests.Response":
        """One request with the auth the registry asks for; errors as one line."""
        conn = self.connection(registry)
        headers = dict(headers or {})
        auth = self._auth(registry) if conn.basic else None  # a credential helper runs only when needed
        if conn.basic and auth:
            headers["Authorization"] = _basic(auth)
        elif scope in conn.tokens:
            headers["Authorization"] = conn.tokens[scope]
        response = self._send(conn, method, path, headers)
        if response.status_code == 401:
            challenge = response.headers.get("WWW-Authenticate", "")
            auth = auth or self._auth(registry)
            headers["Authorization"] = self._authorize(conn, challenge, scope, auth)
            response = self._send(conn, method, path, headers)
            if response.status_code == 401:
                raise _refused(registry, (auth or {}).get("username"))
        if response.status_code in ok:
            return response
        raise _status_error(registry, method, response, missing)

    def _pages(self, registry: str, path: str, scope: str, missing: str):
        while path:
            response = self._call(registry, "GET", path, scope, missing)
            yield response.json()
            path = response.links.get("next", {}).get("url")

    def _auth(self, registry: str) -> dict | None:
        if self.credentials is None:
            return None
        return self.credentials.for_registry(registry)

    def _authorize(self, conn: Connection, challenge: str, scope: str, auth: dict | None) -> str:
        """The Authorization header answering ``challenge`` (Basic, or a Bearer token from its realm)."""
        scheme, params = parse_challenge(challenge)
        if scheme == "basic":
            conn.basic = True
            if not auth:
                raise _needs_login(conn.registry)
            return _basic(auth)
        if scheme != "bearer" or "realm" not in params:
            raise RegistryAuthError(f"{conn.registry} asks for an authentication this client does not speak "
                                    f"({scheme or 'none'})", status=401, operation="auth", target=conn.registry)
        query = {"service": params.get("service")} if params.get("service") else {}
        wanted = params.get("scope") or scope
        if wanted:
            query["scope"] = wanted
        token_auth = (auth["username"], auth["password"]) if auth else None
        import requests

        try:
            with _quiet(conn.verify):
                response = self._http.get(params["realm"], params=query, auth=token_auth, verify=conn.verify,
                                          cert=conn.cert, timeout=self.timeout)
        except requests.exceptions.RequestException as exc:
            raise _down(conn.registry, exc, what="its token service") from None
        if response.status_code in (401, 403):
            raise _refused(conn.registry, (auth or {}).get("username")) if auth else _needs_login(conn.registry)
        if response.status_code != 200:
            raise RegistryAuthError(f"the token service of {conn.registry} answered {response.status_code}",
                                    status=response.status_code, operation="auth", target=conn.registry)
        body = response.json()
        header = "Bearer " + (body.get("token") or body.get("access_token") or "")
        if scope:
            conn.tokens[scope] = header
        return header

    def forget(self, registry: str) -> None:
        """Drop what is known about ``registry`` (its tokens), e.g. after a login or logout."""
        from .registry import DOCKER_HUB

        key = "docker.io" if registry == DOCKER_HUB else registry
        with self._lock:
            self._connections.pop(key, None)

    def close(self) -> None:
        self._http.close()


# -- helpers -----------------------------------------------------------------------------

@contextmanager
def _quiet(verify: bool | str):
    """Unverified TLS is chosen on purpose for loopback registries (as the engine does): no warning."""
    if verify is not False:
        yield
        return
    from urllib3.exceptions import InsecureRequestWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureRequestWarning)
        yield


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="...",service="...",scope="..."`` -> ("bearer", {...})."""
    import re

    scheme, _, rest = header.strip().partition(" ")
    params = {k.lower(): v for k, v in re.findall(r'(\w+)="([^"]*)"', rest)}
    params.update({k.lower(): v for k, v in re.findall(r'(\w+)=([^",\s]+)', rest) if k.lower() not in params})
    return scheme.lower(), params


def _basic(auth: dict) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{auth['username']}:{auth['password']}".encode()).decode()


def _missing(ref: Reference) -> str:
    what = f"digest {ref.digest}" if ref.digest else f"tag {ref.tag or 'latest'}"
    return f"{what} of {ref.repository} not found in {ref.registry}"


def _needs_login(registry: str) -> RegistryAuthError:
    return RegistryAuthError(f"{registry} needs a login: %container login {registry} -u USER",
                             status=401, operation="auth", target=registry)


def _refused(registry: str, username: str | None) -> RegistryAuthError:
    who = f"the username or password of {username!r}" if username else "anonymous access"
    return RegistryAuthError(f"{registry} refused {who}", status=401, operation="auth", target=registry)


def _down(registry: str, exc: BaseException, what: str = "the registry") -> RegistryUnavailable:
    import requests

    if isinstance(exc, requests.exceptions.Timeout):
        why = "timed out"
    elif "refused" in str(exc).lower():
        why = "connection refused"
    else:
        why = one_line(getattr(exc, "args", [exc])[0] if getattr(exc, "args", None) else exc)[:160]
    return RegistryUnavailable(f"{what} at {registry} does not answer ({why})", operation="connect", target=registry)


def _tls_error(registry: str, exc: BaseException, folder: Path) -> RegistryUnavailable:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return RegistryUnavailable(f"the certificate of {registry} is not trusted; put its CA certificate "
                                   f"in {folder / 'ca.crt'}", operation="connect", target=registry)
    return _down(registry, exc)


def _error_codes(response) -> tuple[list[str], str]:
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return [], ""
    return [e.get("code", "") for e in errors], "; ".join(e.get("message", "") for e in errors if e.get("message"))


def _status_error(registry: str, method: str, response, missing: str) -> ContainersError:
    status = response.status_code
    codes, message = _error_codes(response)
    if status == 404:
        if "NAME_UNKNOWN" in codes and " of " in missing:
            missing = f"repository {missing.split(' of ', 1)[1]}"
        return NotFound(missing, status=404, operation=method.lower(), target=registry)
    if status == 405 and method == "DELETE":
        return DeleteRefused(f"{registry} does not allow deleting images (its storage.delete.enabled is off)",
                             status=405, operation="delete", target=registry)
    if status == 403:
        return RegistryAuthError(f"{registry} denied this: {message or 'forbidden'}", status=403,
                                 operation=method.lower(), target=registry)
    return ContainersError(f"{registry} answered {status}" + (f": {one_line(message)}" if message else ""),
                           status=status, operation=method.lower(), target=registry)

