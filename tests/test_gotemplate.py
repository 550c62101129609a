"""The Go template interpreter behind --format, without an engine.

Expected outputs and error messages below are what Go's text/template (the docker CLI 28, Go 1.24)
gives for the same template over the same JSON; tests/test_format_flags.py compares with the docker
CLI itself. Hypothesis fuzzes the lexer, parser and executor: any string renders or fails with one
line, an ``InvalidArgument``, never a traceback.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_containers.engine.errors import InvalidArgument
from jupyter_containers.magics import gotemplate as gt

DATA = {"Name": "/web", "Id": "0123456789abcdef0123",
        "State": {"Status": "running", "Running": True, "Pid": 42, "ExitCode": 0},
        "Config": {"Cmd": ["sleep", "600"], "Labels": {"team": "nb", "a.b-c": "1"}, "Entrypoint": None},
        "NetworkSettings": {"IPAddress": "10.0.0.2", "Networks": {"bridge": {"IPAddress": "10.0.0.2"}},
                            "Ports": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}], "90/tcp": None}}}


def render(template: str, data=DATA) -> str:
    return gt.parse(template).execute(data)


@pytest.mark.parametrize("template, expected", [
    ("{{.Name}}", "/web"),
    ("{{.State.Status}} {{.State.Running}} {{.State.Pid}}", "running true 42"),
    ("{{.Config.Cmd}} {{.Config.Labels}}", "[sleep 600] map[a.b-c:1 team:nb]"),  # Go's %v: maps sorted
    ("{{.Missing}} {{.Config.Entrypoint}}", "<no value> <no value>"),
    ("{{json .Config.Labels}} {{json .Config.Entrypoint}} {{json \"a<b>&\"}}", '{"team":"nb","a.b-c":"1"} null "a<b>&"'),
    ('{{index .Config.Labels "team"}}|{{index .Config.Labels "nope"}}|', "nb||"),  # a map of strings: ""
    ('{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}', "8080"),
    ("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", "10.0.0.2"),
    ("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", "a.b-c=1;team=nb;"),
    ("{{range $i, $e := .Config.Cmd}}{{$i}}:{{$e}} {{else}}none{{end}}", "0:sleep 1:600 "),
    ("{{range .Missing}}x{{else}}empty{{end}}", "empty"),
    ("{{range 3}}{{.}}{{end}}{{range -1}}x{{end}}", "012"),
    ('{{range .Config.Cmd}}{{if eq . "600"}}{{break}}{{end}}{{.}}{{end}}', "sleep"),
    ("{{if .State.Running}}up{{else if .Name}}name{{else}}down{{end}}", "up"),
    ("{{with .State}}{{.Status}}{{end}}{{with .Missing}}x{{else with .Name}}{{.}}{{end}}", "running/web"),
    ('{{join .Config.Cmd ","}} {{upper .State.Status}} {{lower "ABC"}} {{title "hello world-foo bar_baz"}}',
     "sleep,600 RUNNING abc Hello World-Foo Bar_baz"),
    ('{{split "a,b" ","}} {{pad "x" 2 3}}| {{truncate "abcdef" 3}} {{len .Config.Cmd}} {{len "héllo"}}',
     "[a b]   x   | abc 2 6"),
    ("{{.State | json}} {{printf \"%s\" .Name | len}}",
     '{"Status":"running","Running":true,"Pid":42,"ExitCode":0} 4'),
    ("{{- \" a \" -}} \n {{- 1 }}   {{- /* note */ -}}  x", " a 1x"),
    ('{{$x := 1}}{{$x = 2}}{{$x}} {{$.Name}} {{define "t"}}[{{.}}]{{end}}{{template "t" 5}}', "2 /web [5]"),
    ("{{1.5}} {{1e6}} {{0x10}} {{017}} {{'a'}} {{1.0}} {{1234567.0}} {{0.00001}}", "1.5 1e+06 16 15 97 1 1.234567e+06 1e-05"),
    ("{{not 0}} {{and 1 0}} {{or 0 \"\"}} {{or 0 3}} {{lt 1 2}} {{ge 1 2}} {{eq .State.Status \"running\" \"x\"}}",
     "true 0  3 true false true"),
    ('{{println "a" 1}}{{print 1 2 "a" 3 "b" "c" true false}}', "a 1\n1 2a3bctrue false"),
    ("{{html \"<a href='x'>&\\\"</a>\"}} {{js \"a'b<c>=&\"}} {{urlquery \"a b&c=d/é\"}}",
     "&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt; a\\'b\\u003Cc\\u003E\\u003D\\u0026 a+b%26c%3Dd%2F%C3%A9"),
    ('{{printf "%05s|%-5s|%.2s|%05d|%5.3d|%+05d|%x|%5.1f|%05.1f|%8.3e|%g|%G" "ab" "ab" "abc" 42 7 5 "hi" '
     '3.14159 2.5 1234.5 0.000012 1e21}}', "000ab|ab   |ab|00042|  007|+0005|6869|  3.1|002.5|1.234e+03|1.2e-05|1E+21"),
    ('{{printf "%5.1f|%5t|%-5v|%5q|%#q|% x|%X|%d|%z" "abc" true 1 "a" "b" "ab" -255 "x" 1}}',
     '%!f(string=    a)| true|1    |  "a"|`b`|61 62|-FF|%!d(string=x)|%!z(int=1)'),
    ('{{printf "%d" 1 2}} {{printf "%d %d" 1}} {{printf "%[2]d %[1]d" 1 2}} {{printf "%*d|%.*f" 4 2 2 3.14159}}',
     "1%!(EXTRA int=2) 1 %!d(MISSING) 2 1    2|3.14"),
    ('{{printf "%s|%5s|%d|%q" .Config.Cmd .Config.Cmd .Config.Cmd .Config.Cmd}}',
     '[sleep 600]|[sleep   600]|[%!d(string=sleep) %!d(string=600)]|["sleep" "600"]'),
    ('{{printf "%x %X %o %O %b %#b %#X %c %U %q" 255 255 8 8 5 5 255 65 65 -3}}', "ff FF 10 0o10 101 0b101 0XFF A U+0041 '�'"),
    ('{{printf "%v %s %6.2v|%.3v|%10.4v" nil nil 3.14159 "abcdef" 12345.678}}', "<nil> %!s(<nil>)    3.1|abc| 1.235e+04"),
])
def test_renders_as_go(template, expected):
    assert render(template) == expected


@pytest.mark.parametrize("template, message", [
    ("{{foo}}", 'template: :1: function "foo" not defined'),
    ("{{.X", "template: :1: unclosed action"),
    ("{{.X}", "template: :1: bad character U+007D '}'"),
    ("a\n{{end}}", "template: :2: unexpected {{end}}"),
    ("{{if 1}}", "template: :1: unexpected EOF"),
    ("{{$undefined}}", 'template: :1: undefined variable "$undefined"'),
    ("{{1 | 2}}", "template: :1: non executable command in pipeline stage 2"),
    ("{{'ab'}}", "template: :1: malformed character constant: 'ab'"),
    ("{{0x1F.}}", 'template: :1: illegal number syntax: "0x1F."'),
    ("{{break}}", "template: :1: {{break}} outside {{range}}"),
    ("{{/* x", "template: :1: unclosed comment"),
    ("{{.Name.X}}", 'template: :1:7: executing "" at <.Name.X>: can\'t evaluate field X in type interface {}'),
    ("{{upper .State.Running}}", 'template: :1:14: executing "" at <.State.Running>: wrong type for value; '
                                 "expected string; got bool"),
    ("{{index .Config.Cmd 5}}", 'template: :1:2: executing "" at <index .Config.Cmd 5>: error calling index: '
                                "index out of range: 5"),
    ('{{eq 1 "a"}}', 'template: :1:2: executing "" at <eq 1 "a">: error calling eq: incompatible types for comparison'),
    ("{{range .Name}}x{{end}}", 'template: :1:8: executing "" at <.Name>: range can\'t iterate over /web'),
    ('{{template "nope"}}', 'template: :1:11: executing "" at <{{template "nope"}}>: template "nope" not defined'),
    ("{{.Name 1}}", 'template: :1:2: executing "" at <.Name>: Name is not a method but has arguments'),
    ("{{nil}}", 'template: :1:2: executing "" at <nil>: nil is not a command'),
])
def test_errors_are_gos_one_line(template, message):
    with pytest.raises(gt.TemplateError) as caught:
        render(template)
    assert str(caught.value) == message
    assert isinstance(caught.value, InvalidArgument)


class Row(gt.Context):
    go_type = "*formatter.ContainerContext"
    header = gt.Header(ID="CONTAINER ID", Names="NAMES")

    def __init__(self, ident: str, names: str):
        self.ident, self.names = ident, names

    def ID(self) -> str:
        return self.ident

    def Names(self) -> str:
        return self.names

    @gt.go("string")
    def Label(self, name: str) -> str:
        return name.upper()


def test_table_aligns_columns_under_docker_headers():
    rows = [Row("0123456789ab", "web"), Row("ba9876543210", "a-much-longer-name")]
    assert gt.render("table {{.ID}}\\t{{.Names}}\\t{{.Label \"com.x.team-name\"}}", rows, Row.header) == (
        "CONTAINER ID   NAMES                team name\n"
        "0123456789ab   web                  COM.X.TEAM-NAME\n"
        "ba9876543210   a-much-longer-name   COM.X.TEAM-NAME\n")
    assert gt.render("{{.Names}}", rows, Row.header) == "web\na-much-longer-name\n"
    assert gt.render("json", rows[:1], Row.header) == '{"ID":"0123456789ab","Names":"web"}\n'
    assert gt.render("table {{json .Names}}", [], Row.header) == "NAMES\n"  # header functions leave titles alone
    with pytest.raises(gt.TemplateError, match=r"can't evaluate field Foo in type \*formatter.ContainerContext"):
        gt.render("{{.Foo}}", rows, Row.header)


def test_go_tabwriter_blocks_and_widths():
    assert gt.tabwrite("a\tb\tc\nlonger cell\tx\n\nz\ty\n") == (  # columns of 10 at least, 3 apart
        "a             b         c\nlonger cell   x\n\nz         y\n")  # an empty line ends a column block
    assert gt.tabwrite("日本語日本語\tx\nab\ty\n") == "日本語日本語   x\nab             y\n"  # wide ones count two


def test_units_and_times_as_the_cli_prints_them():
    assert [gt.human_duration(s) for s in (0.5, 1, 59, 60, 150, 3600, 5400, 86400 * 3, 86400 * 20)] == [
        "Less than a second", "1 second", "59 seconds", "About a minute", "2 minutes", "About an hour",
        "2 hours", "3 days", "2 weeks"]
    assert [gt.human_size(n, 3) for n in (0, 999, 1000, 1234567, 999500)] == ["0B", "999B", "1kB", "1.23MB", "1e+03kB"]
    assert gt.go_timestamp("2024-01-31T12:00:00.123450000Z") == "2024-01-31 12:00:00.12345 +0000 UTC"
    assert gt.ellipsis("sh -c 'while true; do sleep 1; done'", 20) == "sh -c 'while true; …"


TOKENS = ["{{", "}}", "{{- ", " -}}", " ", "(", ")", "|", ":=", "=", ",", "$", "$x", ".", ".Name", ".State.Pid",
          ".Config.Cmd", ".Config.Labels", ".Missing", '"a"', "`r`", "'c'", "1", "-1", "1.5", "0x1F", "if ", "else",
          "end", "range ", "with ", "define ", "template ", "block ", "break", "continue", "nil", "true", "printf ",
          '"%d %s %v %q %5.2f %[2]x %*d"', "len ", "index ", "slice ", "json ", "join ", "split ", "upper ",
          "title ", "pad ", "truncate ", "and ", "or ", "not ", "eq ", "lt ", "print ", "println ", "html ",
          "js ", "urlquery ", "call ", "/*", "*/", "\n", "x", "}", "{", "-", "é"]


def renders_or_fails_in_one_line(text: str) -> None:
    try:
        assert isinstance(render(text), str)
    except gt.TemplateError as exc:
        message = str(exc)
        assert isinstance(exc, InvalidArgument)
        assert message.startswith("template: ") and "\n" not in message and "Traceback" not in message


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=60))
def test_any_text_renders_or_fails_in_one_line(text):
    renders_or_fails_in_one_line(text)


@settings(max_examples=800, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=14))
def test_any_template_like_text_renders_or_fails_in_one_line(tokens):
    renders_or_fails_in_one_line("".join(tokens))
    renders_or_fails_in_one_line("{{" + "".join(tokens) + "}}")


def test_runaway_templates_end_with_one_line():
    for text in ("{{range 999999999}}x{{end}}", "{{" + "(" * 400 + "1" + ")" * 400 + "}}",
                 '{{define "a"}}{{template "a"}}{{end}}{{template "a"}}', "{{if 1}}" * 300 + "{{end}}" * 300):
        renders_or_fails_in_one_line(text)
