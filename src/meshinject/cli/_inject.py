"""``meshinject inject`` and ``meshinject uninject``: offline injection of manifests, as ``istioctl kube-inject``.

Standard output carries only the manifests (YAML or JSON), the patches or the diffs; every message goes to
standard error. Exit codes: 0 all documents handled, 1 at least one document failed (it is still written out,
unchanged), 2 the command could not run (unreadable input, unusable configuration, no cluster).
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TextIO

import yaml
from rich.console import Console
from rich.text import Text

from meshinject.gotemplate import goyaml
from meshinject.inject import jsonpatch, kubetypes
from meshinject.inject.config import ConfigError, InjectorConfig, builtin_config, load_directory
from meshinject.inject.kubeinject import (
    WORKLOAD_KINDS,
    DocumentError,
    DocumentResult,
    KubeInjectSettings,
    join_documents,
    kube_inject,
    split_documents,
)
from meshinject.inject.uninject import kube_uninject

OUTPUT_FORMATS: Final = ("yaml", "json", "patch")
EXIT_OK: Final = 0
EXIT_DOCUMENT_FAILED: Final = 1
EXIT_USAGE: Final = 2

_YAML_LOCATION = re.compile(r'in "<unicode string>", line (\d+), column (\d+)')


class UsageError(Exception):
    """The command cannot run at all (exit 2)."""


@dataclass(slots=True)
class Source:
    """One input: a file or standard input."""

    name: str
    text: str
    #: the input was one JSON object (it is handed to the engine as a one-line YAML flow document)
    is_json: bool = False
    #: what the engine reads
    engine_text: str = ""
    #: each document's original text, by document index
    raws: list[str] = field(default_factory=list)
    #: the line each document starts on (0-based), by document index
    first_lines: list[int] = field(default_factory=list)
    results: list[DocumentResult] = field(default_factory=list)


# -- messages ----------------------------------------------------------------------------------------------


class Messages:
    """Warnings and errors on standard error, through rich (never on standard output)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.console = Console(file=stream, stderr=stream is None, highlight=False, soft_wrap=True)

    def _say(self, label: str, style: str, text: str) -> None:
        self.console.print(Text.assemble((label, style), text.rstrip("\n")), soft_wrap=True)

    def error(self, text: str) -> None:
        self._say("error: ", "bold red", text)

    def warning(self, text: str) -> None:
        self._say("warning: ", "yellow", text)

    def info(self, text: str) -> None:
        self._say("", "", text)


# -- input --------------------------------------------------------------------------------------------------


def _split_with_lines(text: str) -> tuple[list[str], list[int]]:
    """The documents as ``split_documents`` gives them, plus the line each one starts on."""
    docs: list[str] = []
    starts: list[int] = []
    current: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(keepends=True)):
        if line.startswith("---"):
            if current:
                docs.append("".join(current))
                starts.append(start)
            current = []
            start = number + 1
            continue
        current.append(line)
    if current:
        docs.append("".join(current))
        starts.append(start)
    return docs, starts


def read_sources(files: Sequence[str], stdin: TextIO | None = None) -> list[Source]:
    if not files:
        raise UsageError("no input: pass -f FILE (several are allowed) or -f - for standard input")
    if list(files).count("-") > 1:
        raise UsageError("standard input (-f -) can be read only once")
    sources = []
    for name in files:
        if name == "-":
            text = (stdin if stdin is not None else sys.stdin).read()
            sources.append(Source("<stdin>", text))
            continue
        try:
            text = Path(name).read_text(encoding="utf-8")
        except IsADirectoryError:
            raise UsageError(f"{name}: is a directory (pass the manifest files, e.g. {name}/*.yaml)") from None
        except OSError as err:
            raise UsageError(f"cannot read {name}: {err.strerror or err}") from None
        except UnicodeDecodeError as err:
            raise UsageError(f"{name}: not UTF-8 text ({err.reason} at byte {err.start})") from None
        sources.append(Source(name, text))
    return sources


def _prepare(source: Source) -> DocumentResult | None:
    """Fill the engine text and document table of a source; a result when the whole input is unusable."""
    stripped = source.text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            value = json.loads(source.text)
        except ValueError:
            value = None  # Not JSON after all (a YAML flow mapping, say): read it as YAML.
        if isinstance(value, list):
            message = "the input is a JSON array; put the objects in a `kind: List` object (items: [...])"
            return DocumentResult(0, "", "", source.text, error=DocumentError(message, index=0))
        if isinstance(value, dict):
            source.is_json = True
            # One line of JSON is a YAML flow document the engine reads like any other (no tabs, no `---`).
            source.engine_text = json.dumps(value, ensure_ascii=False) + "\n"
            source.raws, source.first_lines = [source.text], [0]
            return None
    source.engine_text = source.text
    try:
        split_documents(source.text)
    except ValueError as err:
        return DocumentResult(0, "", "", source.text, error=DocumentError(str(err), index=0))
    source.raws, source.first_lines = _split_with_lines(source.text)
    return None


# -- engine calls -------------------------------------------------------------------------------------------


def _peek(raw: str) -> tuple[str, str]:
    try:
        obj = goyaml.load_preserving_types(raw)
    except (yaml.YAMLError, goyaml.GoYAMLError):
        return "", ""
    if not isinstance(obj, dict):
        return "", ""
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return str(obj.get("kind") or ""), str(name or "")


def _renumber(result: DocumentResult, index: int) -> DocumentResult:
    """A result of a one-document run, numbered as the document's place in its file."""
    result.index = index
    error = result.error
    if error is not None:
        prefix = str(DocumentError("", index=error.index, kind=error.kind, name=error.name))
        message = str(error)
        message = message[len(prefix) :] if message.startswith(prefix) else message
        result.error = DocumentError(message, index=index, kind=error.kind, name=error.name)
    return result


def _run_engine(run: Callable[[str], list[DocumentResult]], text: str, is_json: bool) -> list[DocumentResult]:
    """The engine's results; an unexpected exception fails only the document that raised it."""
    try:
        return run(text)
    except Exception:  # isolate the document that triggers an engine bug, below
        pass
    results: list[DocumentResult] = []
    for index, raw in enumerate([text] if is_json else split_documents(text)):
        try:
            results.extend(_renumber(r, index) for r in run(raw))
        except Exception as err:  # reported per document, the run goes on
            kind, name = _peek(raw)
            message = f"internal error: {type(err).__name__}: {err} (this is a bug in meshinject; please report it)"
            results.append(
                DocumentResult(index, kind, name, raw, error=DocumentError(message, index=index, kind=kind, name=name))
            )
    return results


def _template_field(obj: Any, where: str = "") -> str | None:
    """The path of a workload's missing pod template (Go would inject an empty one), or None."""
    if not isinstance(obj, dict):
        return None
    kind = obj.get("kind")
    if kind == "List":
        items = obj.get("items")
        for i, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict) and item.get("kind") in WORKLOAD_KINDS:
                missing = _template_field(item, f"{where}items[{i}].")
                if missing:
                    return missing
        return None
    if kind not in WORKLOAD_KINDS or kind == "Pod":
        return None
    spec = obj.get("spec")
    if kind == "CronJob":
        job = spec.get("jobTemplate") if isinstance(spec, dict) else None
        job_spec = job.get("spec") if isinstance(job, dict) else None
        template = job_spec.get("template") if isinstance(job_spec, dict) else None
        return None if isinstance(template, dict) and template else f"{where}spec.jobTemplate.spec.template"
    template = spec.get("template") if isinstance(spec, dict) else None
    return None if isinstance(template, dict) and template else f"{where}spec.template"


def _check_templates(source: Source) -> None:
    """A workload without a pod template is an error here, although istioctl would inject an empty one."""
    for i, result in enumerate(source.results):
        if result.error is not None or result.original is None:
            continue
        missing = _template_field(result.original)
        if missing is None:
            continue
        error = DocumentError(
            f"{missing} is required: a {result.kind} without a pod template has nothing to inject into",
            index=result.index,
            kind=result.kind,
            name=result.name,
        )
        source.results[i] = DocumentResult(
            result.index,
            result.kind,
            result.name,
            _raw(source, result.index),
            error=error,
            original=result.original,
        )


def _raw(source: Source, index: int) -> str:
    return source.raws[index] if 0 <= index < len(source.raws) else ""


# -- output -------------------------------------------------------------------------------------------------


def _error_text(source: Source, result: DocumentResult) -> str:
    message = str(result.error)
    start = source.first_lines[result.index] if 0 <= result.index < len(source.first_lines) else 0

    def located(m: re.Match[str]) -> str:
        return f"in {source.name}, line {int(m.group(1)) + start}, column {m.group(2)}"

    return f"{source.name}: " + _YAML_LOCATION.sub(located, message)


def _is_workload(result: DocumentResult) -> bool:
    return result.error is None and result.result is not None


def _object_of(source: Source, result: DocumentResult) -> Any:
    """The document as JSON-ready data (what -o json writes); raises ValueError if it has no such form."""
    if _is_workload(result):
        return kubetypes.normalize(result.result)
    text = _raw(source, result.index) if result.error is not None else result.text
    try:
        value = goyaml.load_preserving_types(text)
    except (yaml.YAMLError, goyaml.GoYAMLError) as err:
        raise ValueError(f"not valid YAML: {err}") from None
    return kubetypes.normalize(value) if isinstance(value, dict) else value


def _yaml_text(source: Source, result: DocumentResult) -> str:
    if source.is_json and result.error is None and not _is_workload(result):
        # A passed-through JSON object: the engine holds it as one line of JSON; write YAML like the rest.
        return goyaml.marshal(json.loads(result.text))
    return result.text


def _before_after(source: Source, result: DocumentResult, output_format: str) -> tuple[str, str]:
    original = kubetypes.normalize(result.original)
    if output_format == "json":
        return _dump_json(original), _dump_json(_object_of(source, result))
    return goyaml.marshal(original), result.text


def _dump_json(value: Any) -> str:
    return json.dumps(value, indent=4, ensure_ascii=False, default=str) + "\n"


def _render_diff(sources: Sequence[Source], output_format: str, after: str) -> str:
    chunks: list[str] = []
    for source in sources:
        for result in source.results:
            if not (_is_workload(result) and result.injected) or result.original is None:
                continue
            before_text, after_text = _before_after(source, result, output_format)
            what = f"{result.kind} {result.name}" if result.name else result.kind
            label = f"{source.name} document {result.index} ({what})"
            chunks.extend(
                difflib.unified_diff(
                    before_text.splitlines(keepends=True),
                    after_text.splitlines(keepends=True),
                    fromfile=f"{label} original",
                    tofile=f"{label} {after}",
                )
            )
    return "".join(chunks)


def _render_json(sources: Sequence[Source], messages: Messages) -> str:
    objects = []
    for source in sources:
        for result in source.results:
            try:
                objects.append(_object_of(source, result))
            except ValueError as err:
                messages.error(
                    f"{source.name}: document {result.index} cannot be written as JSON ({err}); "
                    "it is left out of the output"
                )
    # The shape follows the input, not the failures: one document gives one object, several a List.
    if sum(len(s.results) for s in sources) == 1 and len(objects) == 1:
        return _dump_json(objects[0])
    return _dump_json({"apiVersion": "v1", "kind": "List", "items": objects})


def _patch_entries(source: Source, result: DocumentResult) -> list[dict[str, Any]]:
    """One entry per workload of a document (each workload item of a List has its own)."""
    head: dict[str, Any] = {"file": source.name, "document": result.index}
    if result.error is not None:
        return [{**head, "kind": result.kind, "name": result.name, "error": str(result.error), "patch": []}]
    before = kubetypes.normalize(result.original)
    after = kubetypes.normalize(result.result)
    pairs: list[tuple[dict[str, Any], Any, Any]] = []
    if result.kind == "List":
        for i, (old, new) in enumerate(zip(before.get("items") or [], after.get("items") or [], strict=False)):
            if isinstance(old, dict) and old.get("kind") in WORKLOAD_KINDS:
                pairs.append(({"item": i}, old, new))
    else:
        pairs.append(({}, before, after))
    entries = []
    for where, old, new in pairs:
        # Relative to the workload object itself, so `kubectl patch --type=json -p` applies it as is.
        ops = json.loads(jsonpatch.dumps_patch(jsonpatch.json_diff(old, new)))
        name = (old.get("metadata") or {}).get("name") or ""
        entries.append({**head, **where, "kind": old.get("kind"), "name": name, "changed": bool(ops), "patch": ops})
    return entries


def _render_patch(sources: Sequence[Source]) -> str:
    entries = [
        entry
        for source in sources
        for result in source.results
        if result.kind in WORKLOAD_KINDS
        for entry in _patch_entries(source, result)
    ]
    return json.dumps(entries, indent=2, ensure_ascii=False) + "\n"


def _render(sources: Sequence[Source], output_format: str, diff: bool, messages: Messages, after: str) -> str:
    if diff:
        return _render_diff(sources, output_format, after)
    if output_format == "json":
        return _render_json(sources, messages)
    if output_format == "patch":
        return _render_patch(sources)
    return "".join(
        join_documents([DocumentResult(r.index, r.kind, r.name, _yaml_text(s, r))]) for s in sources for r in s.results
    )


def _write(text: str, output: Path | None, stdout: TextIO | None) -> None:
    if output is None:
        stream = stdout if stdout is not None else sys.stdout
        stream.write(text)
        stream.flush()
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot write {output}: {err.strerror or err}") from None


def _report(sources: Sequence[Source], messages: Messages, verb: str) -> int:
    failed = changed = unchanged = passed = 0
    for source in sources:
        for result in source.results:
            for warning in result.warnings:
                messages.warning(
                    f"{source.name}: document {result.index} ({result.kind} "
                    f"{result.name!r}): {warning.strip().removeprefix('===> ')}"
                )
            if result.error is not None:
                failed += 1
                messages.error(_error_text(source, result).rstrip() + "\n  (the document is written out unchanged)")
            elif result.kind not in WORKLOAD_KINDS:
                passed += 1
            elif result.injected:
                changed += 1
            else:
                unchanged += 1
    summary = f"{changed} {verb}, {unchanged} unchanged, {passed} passed through, {failed} failed"
    messages.info(summary)
    return EXIT_DOCUMENT_FAILED if failed else EXIT_OK


# -- commands -----------------------------------------------------------------------------------------------


def _load_config(
    config_dir: Path | None,
    from_cluster: bool,
    revision: str | None,
    istio_namespace: str,
    kubeconfig: Path | None,
    context: str | None,
    messages: Messages,
) -> tuple[InjectorConfig, list[dict[str, str]] | None]:
    if config_dir is not None and from_cluster:
        raise UsageError("--config-dir and --from-cluster are alternatives: pass one of them")
    if from_cluster:
        from meshinject.cluster.configmaps import ClusterError, load_cluster_config

        try:
            cluster = load_cluster_config(
                revision or "", namespace=istio_namespace, kubeconfig=kubeconfig, context=context
            )
        except ClusterError as err:
            raise UsageError(f"--from-cluster: {err}") from None
        for warning in cluster.warnings:
            messages.warning(warning)
        return cluster.config, cluster.nodes
    if config_dir is not None:
        return load_directory(config_dir), None
    return builtin_config(), None


def _check_format(output_format: str, diff: bool) -> None:
    if output_format not in OUTPUT_FORMATS:
        raise UsageError(f"-o {output_format!r}: choose yaml, json or patch")
    if diff and output_format == "patch":
        raise UsageError("--diff shows YAML or JSON documents; it cannot be combined with -o patch")


def _process(sources: list[Source], run: Callable[[str], list[DocumentResult]], *, check_templates: bool) -> None:
    for source in sources:
        whole = _prepare(source)
        if whole is not None:
            source.results = [whole]
            continue
        source.results = _run_engine(run, source.engine_text, source.is_json)
        if check_templates:
            _check_templates(source)


def run_inject(
    files: Sequence[str],
    *,
    config_dir: Path | None = None,
    revision: str | None = None,
    from_cluster: bool = False,
    istio_namespace: str = "istio-system",
    kubeconfig: Path | None = None,
    context: str | None = None,
    output_format: str = "yaml",
    diff: bool = False,
    output: Path | None = None,
    native_sidecars: str | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    messages = Messages(stderr)
    try:
        _check_format(output_format, diff)
        sources = read_sources(files, stdin)
        config, nodes = _load_config(config_dir, from_cluster, revision, istio_namespace, kubeconfig, context, messages)
        if native_sidecars is not None:
            config = config.with_flags(native_sidecars=native_sidecars)
        settings = KubeInjectSettings(config=config, revision=revision or "", nodes=nodes)
        _process(sources, lambda text: kube_inject(text, settings), check_templates=True)
        _write(_render(sources, output_format, diff, messages, "injected"), output, stdout)
    except ConfigError as err:
        messages.error(f"configuration: {err}")
        return EXIT_USAGE
    except UsageError as err:
        messages.error(str(err))
        return EXIT_USAGE
    return _report(sources, messages, "injected")


def run_uninject(
    files: Sequence[str],
    *,
    output_format: str = "yaml",
    diff: bool = False,
    output: Path | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    messages = Messages(stderr)
    try:
        _check_format(output_format, diff)
        sources = read_sources(files, stdin)
        _process(sources, lambda text: kube_uninject(text), check_templates=False)
        _write(_render(sources, output_format, diff, messages, "uninjected"), output, stdout)
    except UsageError as err:
        messages.error(str(err))
        return EXIT_USAGE
    return _report(sources, messages, "uninjected")
