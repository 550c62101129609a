"""Stage 4: the dependency graph of services: topological levels, cycles, selections.

``deps`` maps each service to the services it depends on. Pure.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from .errors import ComposeFileError


def check(deps: Mapping[str, Iterable[str]]) -> None:
    """Every dependency names a service, and there is no cycle."""
    for service, needs in deps.items():
        for need in needs:
            if need not in deps:
                raise ComposeFileError(f"services.{service}.depends_on: {need!r} is not a service of this file")
    cycle = find_cycle(deps)
    if cycle:
        raise ComposeFileError(f"dependency cycle: {' -> '.join(cycle)}")


def find_cycle(deps: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One cycle as ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for need in sorted(deps.get(node, ())):
            if state.get(need) == 1:
                return path[path.index(need):] + [need]
            if need in deps and need not in state:
                found = visit(need)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(deps):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def levels(deps: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Services in topological levels: each level depends only on the levels before it (Kahn)."""
    check(deps)
    remaining = {service: set(needs) for service, needs in deps.items()}
    out = []
    while remaining:
        ready = sorted(s for s, needs in remaining.items() if not needs)
        out.append(ready)
        for service in ready:
            del remaining[service]
        for needs in remaining.values():
            needs.difference_update(ready)
    return out


def order(deps: Mapping[str, Iterable[str]]) -> list[str]:
    return [service for level in levels(deps) for service in level]


def with_dependencies(deps: Mapping[str, Iterable[str]], names: Iterable[str]) -> set[str]:
    """``names`` and everything they need, transitively."""
    out, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in out:
            out.add(name)
            todo.extend(deps.get(name, ()))
    return out


def reverse(deps: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """Who depends on each service (the order to stop in)."""
    out: dict[str, set[str]] = {service: set() for service in deps}
    for service, needs in deps.items():
        for need in needs:
            out.setdefault(need, set()).add(service)
    return out
