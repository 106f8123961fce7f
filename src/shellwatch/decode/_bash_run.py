"""The emulator: walks the tree of :mod:`._bash_parse`, expands words and runs pure text utilities.

Nothing runs for real. Variables assigned in the line, the positional parameters of ``bash -c`` (none),
and files written during the emulation (a virtual file system) are the only state. A command the
emulator does not know is written out with its words expanded; inside a command substitution or a pipe
feeding a shell it makes the value unknown (:class:`Unknown`) and the enclosing command stays as text.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Final

from shellwatch.decode._bash_arith import evaluate
from shellwatch.decode._bash_glob import Pattern, compile_pattern, remove_prefix, remove_suffix, replace
from shellwatch.decode._bash_parse import (
    AndOr,
    Command,
    Compound,
    Pipeline,
    Redir,
    Simple,
    Unsupported,
    Word,
    find_close,
    parse,
    parse_word,
    split_assignment,
    split_top,
)
from shellwatch.decode._bash_text import TOOLS, Unknown, printf
from shellwatch.decode.model import Budget


class Abort(Unknown):
    """A fatal expansion error (``${}``): the (sub)shell stops; its message is already on stderr."""


SHELLS: Final = frozenset({"bash", "sh", "dash", "zsh", "ksh", "ash", "mksh", "busybox"})
_SAFE: Final = re.compile(r"[\w@%+=:,./-]+")
_NAME: Final = re.compile(r"([A-Za-z_]\w*|\d+|[@*#?$!-])(\[.*\])?$", re.DOTALL)
_PARAM: Final = re.compile(r"(#)?(!)?([A-Za-z_]\w*|\d+|[@*#?$!-])", re.DOTALL)
_BRACE: Final = re.compile(r"\{([^{},\s]*(?:,[^{},\s]*)+|-?\w+\.\.-?\w+)\}")
_MAX_DEPTH: Final = 24
_MAX_CALLS: Final = 64
PID: Final = "\ue000"
"""``$$``: a value no command line holds, so text derived from it is never written out."""
_PROC_ENTRIES: Final = (
    "attr",
    "autogroup",
    "auxv",
    "cgroup",
    "clear_refs",
    "cmdline",
    "comm",
    "coredump_filter",
    "cpuset",
    "cwd",
    "environ",
    "exe",
    "fd",
    "fdinfo",
    "gid_map",
    "io",
    "limits",
    "loginuid",
    "map_files",
    "maps",
    "mem",
    "mountinfo",
    "mounts",
    "mountstats",
    "net",
    "ns",
    "numa_maps",
    "oom_adj",
    "oom_score",
    "oom_score_adj",
    "pagemap",
    "personality",
    "projid_map",
    "root",
    "sched",
    "schedstat",
    "sessionid",
    "setgroups",
    "smaps",
    "smaps_rollup",
    "stack",
    "stat",
    "statm",
    "status",
    "syscall",
    "task",
    "timens_offsets",
    "timers",
    "timerslack_ns",
    "uid_map",
    "wchan",
)
"""The entries of ``/proc/$$``: obfuscators glob them (``/????/$$/????``) to find letters."""
_SYMBOLS_ONLY: Final = re.compile(r"\.\.?/[^A-Za-z0-9/.\s]+")
_FEATURES: Final = {
    "gunzip": "gzip",
    "zcat": "gzip",
    "bunzip2": "bzip2",
    "bzcat": "bzip2",
    "md5sum": "hash",
    "sha1sum": "hash",
    "sha256sum": "hash",
    "perl": "xor",
}
_LEADING_OPERATOR: Final = re.compile(r"\s*(;;|;|&&|&|\|\||\||\))")


def quote(text: str) -> str:
    if _SAFE.fullmatch(text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _collate(name: str) -> str:
    """Sort key close to glibc's collation in common locales: control characters after the others."""
    return "".join(chr(ord(char) + 0x110000 - 32) if ord(char) < 32 else char for char in name)


class Shell:
    def __init__(self, budget: Budget, depth: int = 0) -> None:
        self.budget = budget
        self.depth = depth
        self.vars: dict[str, str] = {"IFS": " \t\n", "BASH": "/bin/bash", "0": "bash", "#": "0"}
        self.arrays: dict[str, dict[int, str]] = {}
        self.files: dict[str, str | None] = {f"/proc/{PID}/{entry}": None for entry in _PROC_ENTRIES}
        self.functions: dict[str, Compound] = {}
        self.err: list[str] | None = None
        """Where standard error goes: the output of a command that redirects it, or nowhere."""
        self.emitted: list[tuple[str, str]] = []
        self.changed = False
        self.kinds: set[str] = set()
        self.used: set[str] = set()
        """What the emulation used (utilities, expansions): it names the technique of the layer."""
        self.calls = 0
        self.status = 0
        """The exit status of the last :meth:`capture`."""
        self.substituted = 0
        """The exit status of the last command substitution (an assignment's own status)."""

    # variables -------------------------------------------------------------------------------------

    def get(self, name: str) -> str:
        match = re.fullmatch(r"([A-Za-z_]\w*)\[(.*)\]", name, re.DOTALL)
        if match:
            array = self.arrays.get(match.group(1))
            index = self.arith(self.expand_string(parse_word(match.group(2), self.budget)))
            if array is None:
                if index == 0 and match.group(1) in self.vars:
                    return self.vars[match.group(1)]
                if _never_set(match.group(1)):
                    return ""
                raise Unknown(match.group(1))
            if index < 0 and array:
                index += max(array) + 1
            return array.get(index, "")
        if name in self.arrays:
            return self.arrays[name].get(0, "")
        if name in self.vars:
            return self.vars[name]
        if name.isdigit() or name in "@*!-":
            return ""
        if name == "?":
            return "0"
        if name == "$":
            return PID
        if _never_set(name):
            return ""
        raise Unknown(name)

    def _elements(self, name: str, keys: bool) -> list[str]:
        """The values of array ``name`` (``${name[@]}``), or its indices (``${!name[@]}``)."""
        if name in self.arrays:
            return [str(key) if keys else value for key, value in sorted(self.arrays[name].items())]
        if name in self.vars:
            return ["0" if keys else self.vars[name]]
        if _never_set(name):
            return []
        raise Unknown(name)

    def put(self, name: str, value: str) -> None:
        self.budget.room(len(value))
        match = re.fullmatch(r"([A-Za-z_]\w*)\[(.*)\]", name, re.DOTALL)
        if match:
            index = self.arith(self.expand_string(parse_word(match.group(2), self.budget)))
            self.arrays.setdefault(match.group(1), {})[index] = value
            return
        if name in self.arrays:
            self.arrays[name][0] = value
        else:
            self.vars[name] = value

    def arith(self, text: str) -> int:
        return evaluate(text, self.get, self.put, self.budget)

    # expansion -------------------------------------------------------------------------------------

    def _param(self, inner: str, quoted: bool) -> list[str] | str:
        """A list for ``$@``-like expansions (zero or more words), else the text."""
        if _PARAM.match(inner) is None:
            self.fail(f"${{{inner}}}: bad substitution")
            raise Abort(inner)
        length, bang, name, subscript, rest = _split_param(inner)
        if length or bang or rest:
            self.used.add("parameter-expansion")
        elif name == "IFS":
            self.used.add("ifs")
        elif name in self.vars or name in self.arrays:
            self.used.add("variables")
        if name in "@*" and not subscript:
            return self._positional(name, bool(length), rest)
        if subscript in ("[@]", "[*]"):
            values = self._elements(name, bool(bang))
            if length:
                return str(len(values))
            values = self._slice(values, rest[1:]) if rest.startswith(":") else values
            values = [self._operate(value, rest) for value in values] if rest[:1] not in ("", ":") else values
            return values if subscript == "[@]" and quoted else " ".join(values)
        if length:
            if rest or bang:
                raise Unsupported("parameter")
            return str(len(self.get(name + (subscript or ""))))
        if bang:
            if rest in ("@", "*"):
                raise Unsupported("names by prefix")
            name = self.get(name + (subscript or ""))
            if not _NAME.match(name):
                raise Unsupported("bad indirection")
            subscript = ""
        full = name + (subscript or "")
        if rest[:2] in (":-", ":=", ":+", ":?") or rest[:1] in ("-", "=", "+", "?"):
            return self._default(full, rest)
        value = self.get(full)
        return self._operate(value, rest) if rest else value

    def _positional(self, name: str, length: bool, rest: str) -> list[str] | str:
        """``$@`` and ``$*`` of ``bash -c``: no arguments, whatever is done to them."""
        if length:
            return "0"
        if rest[:2] in (":-", ":=", ":+") or rest[:1] in ("-", "=", "+"):
            raise Unsupported("default of $@")
        return [] if name == "@" else ""

    def _slice(self, values: list[str], body: str) -> list[str]:
        pieces = split_top(body, ":")
        start = self.arith(self.expand_string(parse_word(pieces[0], self.budget)))
        if len(pieces) == 1:
            return values[start:]
        count = self.arith(self.expand_string(parse_word(pieces[1], self.budget)))
        return values[start : start + count]

    def _default(self, full: str, rest: str) -> str:
        """``${x:-word}``, ``${x:=word}``, ``${x:+word}``, ``${x:?word}`` and their forms without colon."""
        colon = rest.startswith(":")
        op = rest[1] if colon else rest[0]
        body = rest[2:] if colon else rest[1:]
        try:
            value: str | None = self.get(full)
        except Unknown:
            value = None
        if value is None:
            raise Unknown(full)  # an unset name outside the line may still be set in the environment
        if op == "?":
            if not value and colon:
                raise Unknown(full)
            return value
        is_set = value != "" or not colon
        if op == "+":
            return self.expand_string(parse_word(body, self.budget)) if is_set else ""
        if is_set:
            return value
        new = self.expand_string(parse_word(body, self.budget))
        if op == "=":
            self.put(full, new)
        return new

    def _pattern(self, word: Word) -> Pattern:
        """``word`` as a pattern: quoted text matches itself, the rest (expansions included) is a glob."""
        segments = [
            (part[1] if part[0] == "lit" else self.expand_string(Word((part,), "")), part[2])
            for part in word.parts
        ]
        return compile_pattern(segments)

    def _operate(self, value: str, rest: str) -> str:
        self.budget.tick(len(value) // 16 + 1)
        if rest in ("~~", "~", "^^", "^", ",,", ","):
            if rest == "~~":
                return value.swapcase()
            if rest == "~":
                return value[:1].swapcase() + value[1:]
            if rest == "^^":
                return value.upper()
            if rest == "^":
                return value[:1].upper() + value[1:]
            if rest == ",,":
                return value.lower()
            return value[:1].lower() + value[1:]
        if rest.startswith(":") and not rest.startswith((":-", ":=", ":+", ":?")):
            pieces = split_top(rest[1:], ":")
            start = self.arith(self.expand_string(parse_word(pieces[0], self.budget)))
            if start < 0:
                start = max(0, len(value) + start)
            if len(pieces) == 1:
                return value[start:]
            count = self.arith(self.expand_string(parse_word(pieces[1], self.budget)))
            end = start + count if count >= 0 else len(value) + count
            return value[start:end]
        if rest[:1] in ("#", "%"):
            longest = rest[:2] in ("##", "%%")
            pattern = self._pattern(parse_word(rest[1 + longest :], self.budget))
            cut = remove_prefix if rest[0] == "#" else remove_suffix
            return cut(value, pattern, longest, self.budget)
        if rest.startswith("/"):
            every = rest.startswith("//")
            pieces = _split_slash(rest[1 + every :])
            new = self.expand_string(parse_word(pieces[1], self.budget)) if len(pieces) > 1 else ""
            anchor = pieces[0][:1] if pieces[0][:1] in ("#", "%") else ""
            source = pieces[0][len(anchor) :]
            if not source and not anchor:
                return value
            mode = anchor or ("/" if every else "")
            return replace(value, self._pattern(parse_word(source, self.budget)), new, mode, self.budget)
        raise Unsupported(f"parameter operator {rest[:10]!r}")

    def _substitute(self, source: str) -> str:
        child = self.subshell()
        output = child.capture(source, "")
        self.substituted = child.status
        return output.rstrip("\n")

    def _process(self, source: str) -> str:
        """``<(list)``: its output becomes a file of the virtual file system, named as bash names it."""
        path = f"/dev/fd/{63 - sum(name.startswith('/dev/fd/') for name in self.files)}"
        self.files[path] = self.subshell().capture(source, None)
        return path

    def fail(self, message: str) -> None:
        """Write bash's error ``message`` where standard error goes."""
        if self.err is not None:
            self.err.append(f"bash: line 1: {message}\n")

    def subshell(self) -> Shell:
        if self.depth >= _MAX_DEPTH:
            raise Unsupported("too deep")
        child = Shell(self.budget, self.depth + 1)
        child.vars = dict(self.vars)
        child.arrays = {name: dict(values) for name, values in self.arrays.items()}
        child.files = self.files
        child.functions = dict(self.functions)
        child.err = self.err
        child.calls = self.calls
        child.used = self.used
        return child

    def fields(self, word: Word) -> list[str]:
        """The words ``word`` expands to: brace expansion, expansions, splitting, globbing."""
        words = _braces(word, self.budget)
        if len(words) > 1:
            self.used.add("brace-expansion")
        results: list[str] = []
        for one in words:
            results.extend(self._fields(one))
        return results

    def _fields(self, word: Word) -> list[str]:
        fields: list[list[tuple[str, bool]]] = [[]]
        ifs = self.vars.get("IFS", " \t\n")
        for kind, text, quoted in word.parts:
            self.budget.tick()
            if kind == "lit":
                fields[-1].append((text, quoted))
                continue
            value: list[str] | str
            if kind == "param":
                value = self._param(text, quoted)
            elif kind == "cmd":
                value = self._substitute(text)
            elif kind == "arith":
                self.used.add("arithmetic")
                value = str(self.arith(self.expand_string(parse_word(text, self.budget), True)))
            else:
                value = self._process(text)
            if isinstance(value, list):
                for index, item in enumerate(value):
                    if index:
                        fields.append([])
                    fields[-1].append((item, True))
                continue
            if quoted:
                fields[-1].append((value, True))
                continue
            pieces = re.split("[" + re.escape(ifs) + "]+", value) if ifs else [value]
            for index, piece in enumerate(pieces):
                if index:
                    fields.append([])
                fields[-1].append((piece, False))
        out: list[str] = []
        for segments in fields:
            if not any(quoted or text for text, quoted in segments):
                continue
            out.extend(self._glob(segments))
        return out

    def _glob(self, segments: list[tuple[str, bool]]) -> list[str]:
        text = "".join(piece for piece, _ in segments)
        if not any(not quoted and re.search(r"[*?\[]", piece) for piece, quoted in segments):
            return [text]
        if "/" not in text:
            return [text]  # the working directory is never known
        pattern = compile_pattern(segments, path=True)
        depth = text.count("/")
        found = sorted(
            (
                name
                for name in self.files
                if name.count("/") == depth and pattern.fullmatch(name, self.budget)
            ),
            key=_collate,
        )
        if found:
            self.used.add("glob")
        return found or [text]

    def expand_string(self, word: Word, arith: bool = False) -> str:
        """``word`` expanded as one string: no splitting, no globbing (assignments, patterns)."""
        out: list[str] = []
        for kind, text, _quoted in word.parts:
            self.budget.tick()
            if kind == "lit":
                out.append(text)
            elif kind == "param":
                value = self._param(text, False)
                out.append(" ".join(value) if isinstance(value, list) else value)
            elif kind == "cmd":
                out.append(self._substitute(text))
            elif kind == "arith":
                out.append(str(self.arith(self.expand_string(parse_word(text, self.budget), True))))
            else:
                raise Unsupported("process substitution")
        return "".join(out)

    # running ---------------------------------------------------------------------------------------

    def capture(self, source: str, stdin: str | None) -> str:
        """What ``source`` writes to its standard output; :class:`Unknown` when that cannot be known."""
        out: list[str] = []
        self.status = 1
        with contextlib.suppress(Abort):
            self.status = self.run_list(parse(source, self.budget), False, out, stdin)
        return "".join(out)

    def run_list(self, items: list[AndOr], top: bool, out: list[str], stdin: str | None = None) -> int:
        status = 0
        for item in items:
            self.budget.tick()
            status = self.run_pipeline(item.first, top, out, stdin, ";")
            self.vars["?"] = str(status)
            for op, pipeline in item.rest:
                if (op == "&&") == (status == 0):
                    status = self.run_pipeline(pipeline, top, out, stdin, op)
                    self.vars["?"] = str(status)
        return status

    def emit(self, joiner: str, text: str) -> None:
        self.budget.room(sum(len(item) for _, item in self.emitted) + len(text))
        self.emitted.append((joiner, text.replace(PID, "$$")))

    def run_pipeline(
        self, pipeline: Pipeline, top: bool, out: list[str], stdin: str | None, joiner: str
    ) -> int:
        commands = pipeline.commands
        if len(commands) == 1:
            status = self.run_command(commands[0], top, out, stdin, joiner)
        elif not top:
            data: str | None = stdin
            status = 0
            for command in commands:
                piece: list[str] = []
                status = self.run_command(command, False, piece, data, "|")
                data = "".join(piece)
            out.append(data or "")
        else:
            data = stdin
            for command in commands[:-1]:
                piece = []
                try:
                    self.run_command(command, False, piece, data, "|")
                    data = "".join(piece)
                except Unknown:
                    data = None
            last = commands[-1]
            payload = self._sink_payload(last, data) if data is not None else None
            if payload is not None:
                self.changed = True
                self.kinds.add("pipe")
                self.emit(joiner, payload)
            else:
                rendered = " | ".join(self.render(command) for command in commands)
                self.emit(joiner, rendered)
            status = 0
        return int(not status) if pipeline.negate else status

    def _sink_payload(self, command: Command, stdin: str) -> str | None:
        if not isinstance(command, Simple):
            return None
        try:
            words = [field for word in command.words for field in self.fields(word)]
        except Unknown:
            return None
        if not words or words[0].rsplit("/", 1)[-1] not in SHELLS:
            return None
        if len(words) > 1 and any(word in ("-c", "-ec") for word in words[1:]):
            return None
        if any(redir.op != "<<<" and redir.op.startswith("<") for redir in command.redirs):
            return None
        return stdin.strip()

    def render(self, command: Command) -> str:
        """The command as the shell would run it: words expanded and quoted; the source when unknown."""
        if isinstance(command, Compound):
            return command.src
        try:
            pieces: list[str] = []
            dirty = False
            for word in command.assigns:
                if word.clean or word.array is not None:
                    pieces.append(word.src)
                else:
                    name, subscript, append, source = split_assignment(word.src) or ("", "", False, "")
                    value = self.expand_string(parse_word(source, self.budget))
                    pieces.append(name + subscript + "+" * append + "=" + quote(value))
                    dirty = True
            for word in command.words:
                if word.clean:
                    pieces.append(word.src)
                else:
                    dirty = True
                    pieces.extend(quote(field) for field in self.fields(word))
            for redir in command.redirs:
                if redir.target.clean:
                    target = redir.target.src
                else:
                    dirty = True
                    target = quote(self.expand_string(redir.target))
                pieces.append(
                    f"{redir.fd}{redir.op} {target}" if redir.op == "<<<" else f"{redir.fd}{redir.op}{target}"
                )
        except Unknown:
            return command.src
        if any(PID in piece for piece in pieces):
            return command.src
        if dirty:
            self.changed = True
        return " ".join(pieces)

    def run_command(self, command: Command, top: bool, out: list[str], stdin: str | None, joiner: str) -> int:
        self.budget.tick()
        if isinstance(command, Compound):
            return self.run_compound(command, top, out, stdin, joiner)
        try:
            words = [field for word in command.words for field in self.fields(word)]
            for redir in command.redirs:
                if redir.op == "<<<":
                    stdin = self.expand_string(redir.target) + "\n"
                elif redir.op == "<" and not redir.fd:
                    path = self.expand_string(redir.target)
                    found = self.files.get(path)
                    if found is None:
                        raise Unknown(path)
                    stdin = found
        except Unknown:
            if not top:
                raise
            self.emit(joiner, command.src)
            return 0
        if not words:
            self.substituted = 0
            for word in command.assigns:
                self.assign(word)
            if top:
                self.changed = True
            return self.substituted
        name = words[0].rsplit("/", 1)[-1]
        if top:
            if name in (":", "true") and words[0] not in self.functions and _inert(command):
                self.changed = True
                return 0
            if self._top_run(words, stdin, joiner):
                self.changed = True
                return 0
            payload = self._top_sink(name, words, stdin, command)
            if payload is not None:
                self.changed = True
                self.kinds.add("eval" if name == "eval" else "shell")
                self.emit(joiner, payload)
                return 0
            self.emit(joiner, self.render(command))
            used = set(self.used)
            with contextlib.suppress(Unknown, Unsupported):
                self._run_simple(command, words, [], stdin)  # for its assignments and files only
            self.used.intersection_update(used)
            return 0
        return self._run_simple(command, words, out, stdin)

    def _top_sink(self, name: str, words: list[str], stdin: str | None, command: Simple) -> str | None:
        if name == "eval":
            return " ".join(words[1:]).strip()
        if name in SHELLS:
            if "-c" in words[1:]:
                index = words.index("-c", 1)
                return words[index + 1].strip() if index + 1 < len(words) else None
            if len(words) == 1 and stdin is not None:
                return stdin.strip()
        return None

    def _top_run(self, words: list[str], stdin: str | None, joiner: str) -> bool:
        """A function call or ``.`` of a file the line wrote: its commands run here, at the top."""
        if words[0] in self.functions:
            self._call(self.functions[words[0]].body, True, [], stdin)
            return True
        text = self._sourced(words)
        if text is None:
            return False
        try:
            body = parse(text, self.budget)
        except Unsupported:
            self.emit(joiner, text.strip())
            return True
        self.run_list(body, True, [], stdin)
        return True

    def _sourced(self, words: list[str]) -> str | None:
        if words[0] not in (".", "source") or len(words) < 2 or self.files.get(words[1]) is None:
            return None
        self.kinds.add("source")
        return self.files[words[1]]

    def _call(self, body: list[AndOr], top: bool, out: list[str], stdin: str | None) -> int:
        if self.calls >= _MAX_CALLS:
            raise Unsupported("function calls too deep")
        self.calls += 1
        try:
            return self.run_list(body, top, out, stdin)
        finally:
            self.calls -= 1

    def assign(self, word: Word) -> None:
        found = split_assignment(word.src)
        if found is None:
            raise Unsupported("assignment")
        name, subscript, append, source = found
        if word.array is not None:
            values = [field for item in word.array for field in self.fields(item)]
            base = self.arrays.get(name, {}) if append else {}
            start = max(base) + 1 if base else 0
            self.arrays[name] = {**base, **{start + i: v for i, v in enumerate(values)}}
            self.vars.pop(name, None)
            return
        value = self.expand_string(parse_word(source, self.budget))
        key = name + subscript
        if append:
            with contextlib.suppress(Unknown):
                value = self.get(key) + value
        self.put(key, value)

    def run_compound(self, node: Compound, top: bool, out: list[str], stdin: str | None, joiner: str) -> int:
        for redir in node.redirs:
            if redir.op == "<<<":
                stdin = self.expand_string(redir.target) + "\n"
            elif _to_null(redir) and self.expand_string(redir.target) == "/dev/null":
                out = []
            elif not _is_stderr(redir):
                raise Unsupported("redirection of a compound command")
        saved = self.err
        self.err = _stderr(node.redirs, self.err, out)
        try:
            return self._run_compound(node, top, out, stdin, joiner)
        finally:
            self.err = saved

    def _run_compound(self, node: Compound, top: bool, out: list[str], stdin: str | None, joiner: str) -> int:
        kind = node.kind
        if kind == "function":
            self.functions[node.name] = node
            if top:
                self.emit(joiner, node.src)
            return 0
        if kind == "subshell":
            child = self.subshell()
            status = child.run_list(node.body, top, out, stdin)
            self.emitted.extend(child.emitted)
            self.changed |= child.changed
            self.kinds |= child.kinds
            return status
        if kind == "group":
            return self.run_list(node.body, top, out, stdin)
        if kind == "arith":
            return int(self.arith(self.expand_string(parse_word(node.exprs[0], self.budget), True)) == 0)
        if kind == "cond":
            return int(not self._cond(node.words or []))
        if kind == "if":
            for cond, body in node.clauses:
                if self.run_list(cond, False, [], stdin) == 0:
                    return self.run_list(body, top, out, stdin)
            return self.run_list(node.other, top, out, stdin) if node.other else 0
        if kind in ("while", "until"):
            cond, body = node.clauses[0]
            status = 0
            for _ in range(100_000):
                self.budget.tick()
                if (self.run_list(cond, False, [], stdin) == 0) != (kind == "while"):
                    return status
                status = self.run_list(body, top, out, stdin)
            raise Unsupported("endless loop")
        if kind == "for":
            words = [f for w in node.words for f in self.fields(w)] if node.words is not None else []
            status = 0
            for value in words:
                self.budget.tick()
                self.put(node.name, value)
                status = self.run_list(node.body, top, out, stdin)
            return status
        if kind == "forarith":
            init, test, step = node.exprs
            expand = self.expand_string
            if init.strip():
                self.arith(expand(parse_word(init, self.budget), True))
            status = 0
            for _ in range(100_000):
                self.budget.tick()
                if test.strip() and not self.arith(expand(parse_word(test, self.budget), True)):
                    return status
                status = self.run_list(node.body, top, out, stdin)
                if step.strip():
                    self.arith(expand(parse_word(step, self.budget), True))
            raise Unsupported("endless loop")
        raise Unsupported(kind)

    def _cond(self, words: list[Word]) -> bool:
        tokens: list[tuple[str, Word]] = [(w.literal or "", w) for w in words]

        def value(index: int) -> str:
            return self.expand_string(tokens[index][1])

        def primary(index: int) -> tuple[bool, int]:
            op = tokens[index][0] if index < len(tokens) else ""
            if op == "!":
                result, nxt = primary(index + 1)
                return not result, nxt
            if op == "(":
                result, nxt = either(index + 1)
                return result, nxt + 1
            if op in ("-n", "-z") and index + 1 < len(tokens):
                text = value(index + 1)
                return (bool(text) if op == "-n" else not text), index + 2
            if index + 2 < len(tokens) + 0 and tokens[index + 1][0] in ("==", "=", "!=", "<", ">"):
                left = value(index)
                binop = tokens[index + 1][0]
                right_word = tokens[index + 2][1]
                if binop in ("==", "=", "!="):
                    matched = self._pattern(right_word).fullmatch(left, self.budget)
                    return (matched if binop != "!=" else not matched), index + 3
                right = value(index + 2)
                return (left < right if binop == "<" else left > right), index + 3
            if index < len(tokens):
                return bool(value(index)), index + 1
            raise Unsupported("[[")

        def both(index: int) -> tuple[bool, int]:
            result, index = primary(index)
            while index < len(tokens) and tokens[index][0] == "&&":
                right, index = primary(index + 1)
                result = result and right
            return result, index

        def either(index: int) -> tuple[bool, int]:
            result, index = both(index)
            while index < len(tokens) and tokens[index][0] == "||":
                right, index = both(index + 1)
                result = result or right
            return result, index

        result, end = either(0)
        if end != len(tokens):
            raise Unsupported("[[")
        return result

    # utilities -------------------------------------------------------------------------------------

    def _run_simple(self, command: Simple, words: list[str], out: list[str], stdin: str | None) -> int:
        for word in command.assigns:
            self.assign(word)
        target: str | None = None
        for redir in command.redirs:
            if redir.op in (">", ">>", ">|", "&>") and redir.fd in ("", "1"):
                target = self.expand_string(redir.target)
        piece: list[str] = []
        saved = self.err
        self.err = _stderr(command.redirs, self.err, piece)
        try:
            status = self._dispatch(words, piece, stdin)
        except Abort:
            if target is None:
                out.extend(piece)  # written before the shell stopped
            raise
        finally:
            self.err = saved
        data = "".join(piece)
        self.budget.room(len(data))
        if target is not None:
            if target != "/dev/null":
                append = any(redir.op == ">>" for redir in command.redirs)
                self.files[target] = (self.files.get(target) or "") + data if append else data
        elif any(
            redir.op == ">&" and redir.fd in ("", "1") and redir.target.literal == "2"
            for redir in command.redirs
        ):
            if self.err is not None:
                self.err.append(data)
        else:
            out.append(data)
        return status

    def _dispatch(self, words: list[str], out: list[str], stdin: str | None) -> int:
        if words[0] in self.functions:
            return self._call(self.functions[words[0]].body, False, out, stdin)
        text = self._sourced(words)
        if text is not None:
            return self.run_list(parse(text, self.budget), False, out, stdin)
        if _SYMBOLS_ONLY.fullmatch(words[0]) and words[0] not in self.files:
            # ./_ or ./%: obfuscators run such a path only to read bash's error message
            self.fail(f"{words[0]}: No such file or directory")
            return 127
        return self.utility(words[0].rsplit("/", 1)[-1], words[1:], out, stdin)

    def utility(self, name: str, args: list[str], out: list[str], stdin: str | None) -> int:
        """Run the builtin or pure text utility ``name``; :class:`Unknown` for any other command."""
        self.budget.tick(1 + sum(len(arg) for arg in args) // 32)
        if name in (":", "true", "false"):
            return int(name == "false")
        if name == "eval":
            self.used.add("eval")
            return self.run_list(parse(" ".join(args), self.budget), False, out, stdin)
        if name in SHELLS:
            self.used.add("shell")
            return self._shell(args, out, stdin)
        if name == "printf" and args[:1] == ["-v"] and len(args) > 2:
            self.put(args[1], printf(args[2], args[3:], self.budget))
            return 0
        if name in ("export", "declare", "typeset", "local", "readonly"):
            for arg in args:
                if "=" in arg and not arg.startswith("-"):
                    key, _, value = arg.partition("=")
                    self.put(key, value)
            return 0
        if name in ("cat", "mkdir", "rm", "rmdir") and any(not arg.startswith("-") for arg in args):
            return self._file_utility(name, args, out)
        tool = TOOLS.get(name)
        if tool is None:
            raise Unknown(name)
        out.append(tool(args, stdin, self.budget))
        if name not in ("cat", "tac"):
            self.used.add(_FEATURES.get(name, name))
        return 0

    def _shell(self, args: list[str], out: list[str], stdin: str | None) -> int:
        """``bash -c script`` or ``bash`` reading its script on standard input: a fresh child shell."""
        child = self.subshell()
        child.vars = {"IFS": " \t\n", "BASH": "/bin/bash", "0": "bash", "#": "0"}
        child.arrays = {}
        child.functions = {}
        if "-c" not in args:
            if args or stdin is None:
                raise Unknown("script file")
            out.append(child.capture(stdin, None))
            return child.status
        index = args.index("-c")
        if index + 1 >= len(args):
            raise Unsupported("bash -c")
        script = args[index + 1]
        leading = _LEADING_OPERATOR.match(script)
        if leading is None:
            out.append(child.capture(script, None))
            return child.status
        if self.err is not None:  # the error message is the point: obfuscators cut letters out of it
            self.err.append(
                f"bash: -c: line 1: syntax error near unexpected token `{leading.group(1)}'\n"
                f"bash: -c: line 1: `{script}'\n"
            )
        return 2

    def _file_utility(self, name: str, args: list[str], out: list[str]) -> int:
        """``cat``, ``mkdir`` and ``rm`` of the virtual file system: files the line itself wrote."""
        paths = [arg for arg in args if not arg.startswith("-")]
        for path in paths:
            self.budget.tick()
            if name == "cat":
                found = self.files.get(path)
                if found is None:
                    raise Unknown(path)
                out.append(found)
            elif name == "mkdir":
                self.files[path.rstrip("/")] = None
            else:
                for key in [key for key in self.files if key == path or key.startswith(path + "/")]:
                    del self.files[key]
        return 0


def _inert(command: Simple) -> bool:
    """A no-op command (``:``) without redirection or command substitution does nothing worth writing."""
    kinds = {part[0] for word in command.words for part in word.parts}
    return not command.redirs and not kinds & {"cmd", "proc"}


def _never_set(name: str) -> bool:
    """Names of underscores only (``__``) are set in no real environment: unset unless the line sets them."""
    return len(name) > 1 and not name.strip("_")


def _is_stderr(redir: Redir) -> bool:
    return (redir.fd == "2" and redir.op in (">&", ">", ">>", ">|")) or redir.op in ("&>", "&>>")


def _to_null(redir: Redir) -> bool:
    return redir.fd in ("", "1") and redir.op in (">", ">>", ">|", "&>")


def _stderr(redirs: list[Redir], err: list[str] | None, stdout: list[str]) -> list[str] | None:
    """Where standard error goes under ``redirs``: ``2>&1`` joins it to ``stdout``, a file drops it."""
    for redir in redirs:
        if redir.fd == "2" and redir.op == ">&":
            err = stdout if redir.target.literal == "1" else None
        elif _is_stderr(redir):
            err = None
    return err


def _split_param(inner: str) -> tuple[str | None, str | None, str, str | None, str]:
    """``${...}`` cut into length sign, indirection sign, name, subscript and operator text."""
    match = _PARAM.match(inner)
    if match is None:
        raise Unsupported(f"parameter {inner[:20]!r}")
    length, bang, name = match.groups()
    end = match.end()
    subscript = None
    if inner.startswith("[", end) and (name[0].isalpha() or name[0] == "_"):
        close = find_close(inner, end, "[", "]")
        subscript = inner[end : close + 1]
        end = close + 1
    return length, bang, name, subscript, inner[end:]


def _split_slash(body: str) -> list[str]:
    """``pattern/replacement`` cut at the first ``/`` outside quotes; a leading ``/`` is the pattern's."""
    index = 1 if body.startswith("/") else 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            index += 2
            continue
        if char in "'\"":
            end = body.find(char, index + 1)
            index = len(body) if end < 0 else end + 1
            continue
        if char == "/":
            return [body[:index], body[index + 1 :]]
        index += 1
    return [body]


def _braces(word: Word, budget: Budget) -> list[Word]:
    for position, part in enumerate(word.parts):
        if part[0] != "lit" or part[2] or "{" not in part[1]:
            continue
        match = _BRACE.search(part[1])
        if match is None:
            continue
        body = match.group(1)
        if ".." in body and "," not in body:
            first, last = body.split("..", 1)
            if first.lstrip("-").isdigit() and last.lstrip("-").isdigit():
                low, high = int(first), int(last)
                step = 1 if high >= low else -1
                if abs(high - low) > 4096:
                    raise Unsupported("brace range")
                options = [str(value) for value in range(low, high + step, step)]
            elif len(first) == 1 and len(last) == 1:
                step = 1 if ord(last) >= ord(first) else -1
                options = [chr(code) for code in range(ord(first), ord(last) + step, step)]
            else:
                continue
        else:
            options = body.split(",")
        budget.tick(len(options))
        results: list[Word] = []
        for option in options:
            text = part[1][: match.start()] + option + part[1][match.end() :]
            parts = (*word.parts[:position], ("lit", text, False), *word.parts[position + 1 :])
            results.extend(_braces(Word(parts, word.src, word.array), budget))
            budget.room(len(results))
        return results
    return [word]


@dataclass(frozen=True, slots=True)
class Emulation:
    """What the line runs, whether that differs from its text, the shell entries its payloads went
    through (``pipe``, ``eval``, ``shell``, ``source``) and the tricks the emulation met."""

    text: str
    changed: bool
    kinds: frozenset[str]
    used: frozenset[str]


def run(text: str, budget: Budget) -> Emulation | None:
    """The emulation of ``text``; None when it is outside the subset."""
    shell = Shell(budget)
    try:
        shell.run_list(parse(text, budget), True, [])
    except (Unsupported, Unknown, RecursionError, IndexError, KeyError, ValueError, OverflowError):
        return None
    if not shell.emitted:
        return None
    pieces: list[str] = []
    for index, (joiner, item) in enumerate(shell.emitted):
        if index:
            pieces.append("; " if joiner in (";", "|") else f" {joiner} ")
        pieces.append(item)
    return Emulation("".join(pieces), shell.changed, frozenset(shell.kinds), frozenset(shell.used))
