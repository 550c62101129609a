"""Record a session with a real engine, and replay it where there is none (Binder).

``record`` runs a command against a proxy of the engine and writes every
exchange to ``DIR/recording.json``; ``serve`` answers the Engine API from such
recordings on a Unix socket. Both speak HTTP/1.1 on sockets (h11, asyncio) and
import no ``docker``: a replay must run where the engine's client libraries
have nothing to talk to. See ``recording.py`` for the file format.
"""

from .recorder import record
from .recording import FILE_NAME, FORMAT_VERSION, ReplayError, load
from .server import serve

__all__ = ["record", "serve", "load", "ReplayError", "FORMAT_VERSION", "FILE_NAME"]
