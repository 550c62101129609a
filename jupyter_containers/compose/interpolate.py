"""Stage 2: variable interpolation in every string value of the loaded mapping.

``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}``,
``${VAR?error}``, ``${VAR:+alt}``, ``${VAR+alt}`` (defaults may nest), and ``$$``
for a literal ``$``. Pure: the variables come in as a mapping.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from .errors import ComposeFileError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


def child(path: str, key: Any) -> str:
    """``services.web`` + ``ports`` -> ``services.web.ports``; an int index -> ``[0]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _closing(text: str, start: int) -> int:
    depth, i = 0, start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return -1


def substitute(text: str, env: Mapping[str, str | None], path: str = "",
               warnings: list[str] | None = None) -> str:
    """``text`` with its variables replaced from ``env``."""
    out, i = [], 0
    while i < len(text):
        j = text.find("$", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        following = text[j + 1:j + 2]
        if following == "$":
            out.append("$")
            i = j + 2
        elif following == "{":
            end = _closing(text, j + 2)
            if end < 0:
                raise ComposeFileError(f"{path}: invalid interpolation {text[j:]!r}: no closing }}")
            out.append(_expression(text[j + 2:end], env, path, warnings))
            i = end + 1
        else:
            match = _NAME.match(text, j + 1)
            if not match:
                raise ComposeFileError(f"{path}: invalid interpolation in {text!r}: "
                                       "write $$ for a literal $")
            out.append(_lookup(match[0], env, warnings))
            i = match.end()
    return "".join(out)


def _lookup(name: str, env: Mapping[str, str | None], warnings: list[str] | None) -> str:
    value = env.get(name)
    if value is None:
        if warnings is not None and name not in {w.split('"')[1] for w in warnings}:
            warnings.append(f'the "{name}" variable is not set; using a blank string')
        return ""
    return str(value)


def _expression(expr: str, env: Mapping[str, str | None], path: str, warnings) -> str:
    match = _NAME.match(expr)
    if not match:
        raise ComposeFileError(f"{path}: invalid interpolation ${{{expr}}}: expected a variable name")
    name, rest = match[0], expr[match.end():]
    if not rest:
        return _lookup(name, env, warnings)
    operator = next((op for op in _OPERATORS if rest.startswith(op)), None)
    if operator is None:
        raise ComposeFileError(f"{path}: invalid interpolation ${{{expr}}}: "
                               "use ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error} or ${VAR:+alt}")
    argument = rest[len(operator):]
    value = env.get(name)
    present = value is not None and (value != "" or ":" not in operator)
    if operator.endswith("-"):
        return str(value) if present else substitute(argument, env, path, warnings)
    if operator.endswith("+"):
        return substitute(argument, env, path, warnings) if present else ""
    if not present:
        why = substitute(argument, env, path, warnings) or "it must be set"
        raise ComposeFileError(f"{path}: required variable {name} is missing a value: {why}")
    return str(value)


def interpolate(data: Any, env: Mapping[str, str | None], path: str = "",
                warnings: list[str] | None = None) -> Any:
    """Every string value in ``data`` (mappings' keys are left as written)."""
    if isinstance(data, str):
        return substitute(data, env, path, warnings)
    if isinstance(data, dict):
        return {key: interpolate(value, env, child(path, key), warnings) for key, value in data.items()}
    if isinstance(data, list):
        return [interpolate(value, env, child(path, i), warnings) for i, value in enumerate(data)]
    return data
