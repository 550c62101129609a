"""Go's text/template as the docker CLI uses it for ``--format``: a small, pure interpreter.

``parse(text)`` gives a ``Template`` (or raises ``TemplateError``); ``Template.execute(data)``
renders it over what the engine's JSON decodes to (dict, list, str, int, float, bool, None), or
over a ``Context``: docker's per-row objects, whose capitalised methods are the fields
(``{{.ID}}``, ``{{.Label "k"}}``). ``render()`` is the CLI's formatter: ``table ...`` gives
aligned columns under a header row, ``json`` one object per line, anything else one rendered
line per item. Values print as Go prints them (``map[k:v]``, ``[a b]``, ``<no value>``) and
every error is one line, worded as Go words it: ``template: :1: function "foo" not defined``.

The modules follow Go's split: ``parse`` (lexer, parser), ``exec``, ``funcs`` (Go's builtins and
docker's: json, join, split, upper, lower, title, pad, truncate), ``fmt`` (printf), ``values``
(how Go prints a value) and ``formatter`` (docker's tables, go-units' sizes and durations).
"""

from .exec import Template, parse
from .formatter import (
                        ellipsis,
                        go_time,
                        go_timestamp,
                        human_duration,
                        human_size,
                        render,
                        resolve,
                        tabwrite,
                        template_text,
)
from .funcs import FUNCS, HEADER_FUNCS
from .values import (
                        Context,
                        Header,
                        Nil,
                        TemplateError,
                        go,
                        go_format,
                        go_quote,
                        to_json,
)

__all__ = ["FUNCS", "HEADER_FUNCS", "Context", "Header", "Nil", "Template", "TemplateError", "ellipsis", "go",
           "go_format", "go_quote", "go_time", "go_timestamp", "human_duration", "human_size", "parse", "render",
           "resolve", "tabwrite", "template_text", "to_json"]
