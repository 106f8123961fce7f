"""The cheap check and the obfuscation score: obfuscated lines pass and score high, benign ones do not."""

from __future__ import annotations

import base64
import hashlib

import pytest

from shellwatch.decode.gate import looks_encoded
from shellwatch.decode.model import DecodeResult, Layer
from shellwatch.decode.score import THRESHOLD, entropy, obfuscation

_JWT = ".".join(
    base64.urlsafe_b64encode(part).decode().rstrip("=")
    for part in (b'{"alg":"HS256","typ":"JWT"}', b'{"sub":"1234567890","name":"Ann"}', bytes(range(32)))
)
_PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4).decode()
_SHA = hashlib.sha256(b"release.tar.gz").hexdigest()
BENIGN = [
    "ls -la /tmp",
    "git commit -m 'fix the parser'",
    "C:\\Windows\\System32\\svchost.exe -k netsvcs -p -s Schedule",
    f"curl -H 'Authorization: Bearer {_JWT}' https://api.example.org/v1/items",
    f"curl -X POST --data-binary 'data:image/png;base64,{_PNG}' https://img.example.org/upload",
    f"echo '{_SHA}  release.tar.gz' | sha256sum -c -",
    "python3 -m pip install --upgrade pip",
]


@pytest.mark.parametrize("line", BENIGN)
def test_benign_lines_score_below_the_threshold(line: str) -> None:
    assert obfuscation(DecodeResult(line, line)).score < THRESHOLD


def test_a_decoded_layer_with_escapes_reaches_the_threshold() -> None:
    line = 'c^m^d /c "s^e^t x=wh^oami&&c^all %x%"'
    layer = Layer("cmd-caret", line, "whoami")
    found = obfuscation(DecodeResult(line, "whoami", (layer,)))
    assert found.score >= THRESHOLD
    assert any("1 layers decoded (cmd-caret)" in reason for reason in found.reasons)
    assert any("escape characters" in reason for reason in found.reasons)


def test_layers_count_up_to_a_cap() -> None:
    layers = tuple(Layer(f"t{index}", "a", "b") for index in range(6))
    assert obfuscation(DecodeResult("x", "y", layers)).score == 75


def test_entropy() -> None:
    assert entropy("") == 0
    assert entropy("aaaa") == 0
    assert entropy("abcd") == pytest.approx(2.0)


@pytest.mark.parametrize(
    "line",
    [
        "powershell -nop -enc " + base64.b64encode("whoami".encode("utf-16-le")).decode(),
        "w\\ho\\ami",
        "wh''o\"\"ami",
        "$'\\x69\\x64'",
        'cmd /c "set a=who&&set b=ami&&call %a%%b%"',
        "%COMSPEC:~-7,1%md",
        "echo aWQK | base64 -d | sh",
        "IEX ([Text.Encoding]::Unicode.GetString([Convert]::FromBase64String($x)))",
        "n^e^t user",
    ],
)
def test_the_cheap_check_passes_obfuscated_lines(line: str) -> None:
    assert looks_encoded(line)


@pytest.mark.parametrize(
    "line", ["ls -la /tmp", "C:\\Windows\\System32\\cmd.exe /c dir", "sudo systemctl restart nginx"]
)
def test_the_cheap_check_lets_plain_lines_through(line: str) -> None:
    assert not looks_encoded(line)
