"""``shellwatch decode``: peel an obfuscated command for an analyst, layer by layer."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from shellwatch.cli.app import app
from shellwatch.decode.commandline import decode_command
from shellwatch.decode.model import DEFAULT_LIMITS, DecodeResult, Limits
from shellwatch.decode.score import Obfuscation, obfuscation
from shellwatch.errors import InputError


class Shell(StrEnum):
    AUTO = "auto"
    BASH = "bash"
    CMD = "cmd"
    POWERSHELL = "powershell"


def _read(text: str) -> str:
    if text != "-":
        return text
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise InputError(f"standard input: not UTF-8 text at byte {exc.start}") from None


def report(result: DecodeResult, found: Obfuscation) -> dict[str, Any]:
    """The decode as plain data (what ``--json`` prints)."""
    return {
        "original": result.original,
        "text": result.text,
        "layers": [
            {"technique": layer.technique, "detail": layer.detail, "text": layer.after}
            for layer in result.layers
        ],
        "stopped": result.stopped,
        "obfuscation": {"score": found.score, "reasons": list(found.reasons)},
    }


def _layers(result: DecodeResult) -> Table:
    table = Table(title="layers", show_lines=True, expand=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("technique", no_wrap=True)
    table.add_column("text after this layer", overflow="fold", ratio=1)
    for number, layer in enumerate(result.layers, 1):
        technique = Text(layer.technique, style="bold")
        if layer.detail:
            technique.append(f"\n{layer.detail}", style="dim")
        table.add_row(str(number), technique, Text(layer.after))
    return table


@app.command("decode")
def decode_cli(
    text: Annotated[str, typer.Argument(help="The command line, or - to read it from standard input.")],
    shell: Annotated[Shell, typer.Option("--shell", help="The shell that runs it.")] = Shell.AUTO,
    as_json: Annotated[bool, typer.Option("--json", help="Print the layers as JSON.")] = False,
    max_depth: Annotated[int, typer.Option("--max-depth", min=1, help="Layers to peel at most.")] = (
        DEFAULT_LIMITS.max_depth
    ),
    timeout: Annotated[float, typer.Option("--timeout", min=0.01, help="Seconds to spend at most.")] = (
        DEFAULT_LIMITS.max_seconds
    ),
) -> None:
    """Peel encodings and shell obfuscation off a command (never running it); show each layer."""
    command = _read(text)
    limits = Limits(max_depth=max_depth, max_seconds=timeout)
    result = decode_command(command, None if shell is Shell.AUTO else shell.value, limits)
    found = obfuscation(result)
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(report(result, found), option=orjson.OPT_INDENT_2) + b"\n")
        return
    parts: list[Any] = []
    if result.layers:
        parts.append(_layers(result))
    else:
        parts.append(Text("no encoding or obfuscation found", style="dim"))
    if result.stopped:
        parts.append(Text(f"stopped early: {result.stopped}", style="yellow"))
    parts.append(Panel(Text(result.text), title="final text", title_align="left"))
    score = Text(f"obfuscation score {found.score}", style="bold")
    for reason in found.reasons:
        score.append(f"\n  {reason}")
    parts.append(score)
    Console().print(Group(*parts))
