"""`meshinject inject` / `meshinject uninject`: the offline CLI, run in-process through the cyclopts app (and once
as a real subprocess)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import jsonpatch as reference_jsonpatch
import pytest
import yaml
from lightkube import Client, KubeConfig

from meshinject.cli import app
from meshinject.cluster import configmaps
from meshinject.inject import kubetypes

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))
BUILTIN_DATA = ROOT / "src" / "meshinject" / "data"

ALL_KINDS = {
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "DeploymentConfig",
    "List",
}


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run the CLI in-process: returns (exit code, stdout, stderr)."""

    def run(*args: str | Path, stdin: str | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = app([str(a) for a in args], result_action="return_value")
        out, err = capsys.readouterr()
        return int(code), out, err

    return run


def documents(text: str) -> list[Any]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def pod_templates(obj: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(metadata carrying the injection annotations, pod spec) of every workload in a document."""
    kind = obj["kind"]
    if kind == "List":
        return [pt for item in obj["items"] if item["kind"] in ALL_KINDS for pt in pod_templates(item)]
    if kind == "Pod":
        return [(obj["metadata"], obj["spec"])]
    if kind == "CronJob":
        # kube-inject writes the pod's annotations onto the job template (as istioctl does).
        job = obj["spec"]["jobTemplate"]
        return [(job["metadata"], job["spec"]["template"]["spec"])]
    return [(obj["spec"]["template"]["metadata"], obj["spec"]["template"]["spec"])]


def container_names(spec: dict[str, Any]) -> list[str]:
    return [c["name"] for c in spec.get("initContainers", []) + spec.get("containers", [])]


def assert_injected(obj: dict[str, Any]) -> None:
    templates = pod_templates(obj)
    assert templates, obj["kind"]
    for meta, spec in templates:
        assert "istio-proxy" in container_names(spec), obj["metadata"].get("name")
        status = json.loads(meta["annotations"]["sidecar.istio.io/status"])
        assert "istio-proxy" in (status["containers"] or []) + (status["initContainers"] or [])


def normalized_inputs(path: Path) -> list[Any]:
    """The documents of an input as Go's typed decoding sees them (what the output is compared with)."""
    return [kubetypes.normalize(d) for d in documents(path.read_text())]


# -- injection of the examples --------------------------------------------------------------------------------


def test_examples_cover_every_workload_kind() -> None:
    kinds = {d["kind"] for path in EXAMPLE_FILES for d in documents(path.read_text())}
    assert kinds == ALL_KINDS
    list_items = [i["kind"] for d in documents((EXAMPLES / "list.yaml").read_text()) for i in d["items"]]
    assert list_items == ["Service", "Deployment"]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_each_example_is_injected_with_the_builtin_configuration(cli: Any, path: Path) -> None:
    code, out, err = cli("inject", "-f", path)
    assert code == 0, err
    (obj,) = documents(out)
    assert_injected(obj)
    assert "1 injected, 0 unchanged, 0 passed through, 0 failed" in err


def test_all_examples_in_one_run_as_a_shell_glob_gives_them(cli: Any) -> None:
    # `-f examples/*.yaml`: the shell puts the first file after -f and the others after it.
    code, out, err = cli("inject", "-f", *EXAMPLE_FILES)
    assert code == 0, err
    objs = documents(out)
    assert [o["kind"] for o in objs] == [documents(p.read_text())[0]["kind"] for p in EXAMPLE_FILES]
    for obj in objs:
        assert_injected(obj)
    # The Service of the List passes through untouched.
    (listed,) = [o for o in objs if o["kind"] == "List"]
    assert listed["items"][0] == documents((EXAMPLES / "list.yaml").read_text())[0]["items"][0]


def test_native_sidecar_annotation_puts_the_proxy_in_init_containers(cli: Any) -> None:
    _, out, _ = cli("inject", "-f", EXAMPLES / "job.yaml")
    spec = documents(out)[0]["spec"]["template"]["spec"]
    proxy = [c for c in spec["initContainers"] if c["name"] == "istio-proxy"]
    assert proxy and proxy[0]["restartPolicy"] == "Always"
    assert "istio-proxy" not in [c["name"] for c in spec["containers"]]


def test_native_sidecars_flag_true_applies_to_every_pod(cli: Any) -> None:
    code, out, _ = cli("inject", "-f", EXAMPLES / "pod.yaml", "--native-sidecars", "true")
    assert code == 0
    spec = documents(out)[0]["spec"]
    assert [c["name"] for c in spec["initContainers"]] == ["istio-init", "istio-proxy"]


def test_revision_is_recorded_in_status_and_rev_annotation(cli: Any) -> None:
    _, out, _ = cli("inject", "-f", EXAMPLES / "pod.yaml", "--revision", "canary")
    annotations = documents(out)[0]["metadata"]["annotations"]
    assert annotations["istio.io/rev"] == "canary"
    assert json.loads(annotations["sidecar.istio.io/status"])["revision"] == "canary"


def test_config_dir_with_a_bundle_is_used(cli: Any, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    values = json.loads((BUILTIN_DATA / "values.json").read_text())
    values["global"]["hub"] = "registry.example.com/mesh"
    (bundle / "values.json").write_text(json.dumps(values))
    shutil.copy(BUILTIN_DATA / "config.yaml", bundle / "config.yaml")
    code, out, err = cli("inject", "-f", EXAMPLES / "pod.yaml", "--config-dir", bundle)
    assert code == 0, err
    (proxy,) = [c for c in documents(out)[0]["spec"]["containers"] if c["name"] == "istio-proxy"]
    assert proxy["image"] == "registry.example.com/mesh/proxyv2:1.28.0"


def test_host_network_pod_is_skipped_with_a_warning(cli: Any) -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: agent\n"
        "spec:\n  hostNetwork: true\n  containers:\n  - name: a\n    image: a\n"
    )
    code, out, err = cli("inject", "-f", "-", stdin=text)
    assert code == 0
    assert "istio-proxy" not in out
    assert (
        "warning: <stdin>: document 0 (Pod 'agent'): Skipping injection because Pod \"agent\" has host networking"
        in err
    )


def test_injection_disabled_by_label_is_skipped_with_a_warning(cli: Any) -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: quiet\n  labels:\n    sidecar.istio.io/inject: 'false'\n"
        "spec:\n  containers:\n  - name: a\n    image: a\n"
    )
    code, out, err = cli("inject", "-f", "-", stdin=text)
    assert code == 0
    assert "istio-proxy" not in out
    assert "has sidecar injection disabled" in err
    assert "0 injected, 1 unchanged" in err


# -- output forms ------------------------------------------------------------------------------------------------


def test_json_output_of_one_document_is_the_object(cli: Any) -> None:
    code, out, _ = cli("inject", "-f", EXAMPLES / "deployment.yaml", "-o", "json")
    assert code == 0
    obj = json.loads(out)
    assert obj["kind"] == "Deployment"
    assert_injected(obj)


def test_json_output_of_several_documents_is_a_list(cli: Any) -> None:
    code, out, _ = cli("inject", "-f", EXAMPLES / "pod.yaml", EXAMPLES / "list.yaml", "-o", "json")
    assert code == 0
    obj = json.loads(out)
    assert obj["kind"] == "List"
    assert [i["kind"] for i in obj["items"]] == ["Pod", "List"]
    assert_injected(obj["items"][0])


def test_json_and_yaml_outputs_hold_the_same_objects(cli: Any) -> None:
    _, as_yaml, _ = cli("inject", "-f", EXAMPLES / "statefulset.yaml")
    _, as_json, _ = cli("inject", "-f", EXAMPLES / "statefulset.yaml", "-o", "json")
    assert documents(as_yaml)[0] == json.loads(as_json)


@pytest.mark.parametrize("name", ["deployment.yaml", "cronjob.yaml", "pod.yaml"])
def test_patch_output_turns_each_workload_into_the_injected_one(cli: Any, name: str) -> None:
    code, out, _ = cli("inject", "-f", EXAMPLES / name, "-o", "patch")
    assert code == 0
    (entry,) = json.loads(out)
    assert (entry["file"], entry["document"], entry["changed"]) == (str(EXAMPLES / name), 0, True)
    _, injected, _ = cli("inject", "-f", EXAMPLES / name)
    (original,) = normalized_inputs(EXAMPLES / name)
    # An independent RFC 6902 implementation applies it.
    assert reference_jsonpatch.apply_patch(original, entry["patch"]) == documents(injected)[0]


def test_patch_output_has_an_entry_per_workload_of_a_list(cli: Any) -> None:
    code, out, _ = cli("inject", "-f", EXAMPLES / "list.yaml", "-o", "patch")
    assert code == 0
    (entry,) = json.loads(out)
    assert (entry["document"], entry["item"], entry["kind"], entry["name"]) == (0, 1, "Deployment", "reviews-v3")
    _, injected, _ = cli("inject", "-f", EXAMPLES / "list.yaml")
    (original,) = normalized_inputs(EXAMPLES / "list.yaml")
    patched = reference_jsonpatch.apply_patch(original["items"][1], entry["patch"])
    assert patched == documents(injected)[0]["items"][1]


def test_patch_of_a_skipped_workload_is_empty(cli: Any) -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: h\nspec:\n  hostNetwork: true\n  containers: []\n"
    code, out, _ = cli("inject", "-f", "-", "-o", "patch", stdin=text)
    assert code == 0
    assert json.loads(out) == [
        {"file": "<stdin>", "document": 0, "kind": "Pod", "name": "h", "changed": False, "patch": []}
    ]


def test_patch_output_lists_workloads_only_and_names_failures(cli: Any) -> None:
    text = (EXAMPLES / "pod.yaml").read_text() + "---\n" + BAD["bad-cpu"] + "---\n" + UNKNOWN_KIND
    code, out, _ = cli("inject", "-f", "-", "-o", "patch", stdin=text)
    assert code == 1
    entries = json.loads(out)
    assert [(e["document"], e["kind"], e["name"]) for e in entries] == [(0, "Pod", "details-v1"), (1, "Pod", "bad-cpu")]
    assert entries[1]["patch"] == []
    assert "sidecar.istio.io/proxyCPU" in entries[1]["error"]


def test_diff_shows_only_what_injection_changed(cli: Any) -> None:
    code, out, _ = cli("inject", "-f", EXAMPLES / "deployment.yaml", "--diff")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"--- {EXAMPLES / 'deployment.yaml'} document 0 (Deployment productpage-v1) original"
    assert lines[1] == f"+++ {EXAMPLES / 'deployment.yaml'} document 0 (Deployment productpage-v1) injected"
    added = [line[1:].strip() for line in lines[2:] if line.startswith("+")]
    removed = [line[1:].strip() for line in lines[2:] if line.startswith("-")]
    assert "name: istio-proxy" in added
    assert "name: istio-init" in added
    assert any(line.startswith("sidecar.istio.io/status:") for line in added)
    # Removed: the scrape annotations replaced by the merge, and the probe endpoints aimed at the agent.
    assert sorted(removed) == [
        "path: /health",
        "port: 9080",
        "port: 9080",
        "prometheus.io/path: /metrics",
        'prometheus.io/port: "9080"',
        "tcpSocket:",
    ]


def test_diff_is_empty_for_documents_injection_leaves_alone(cli: Any) -> None:
    code, out, _ = cli("inject", "-f", "-", "--diff", stdin=UNKNOWN_KIND)
    assert code == 0
    assert out == ""


def test_output_file_receives_what_stdout_would(cli: Any, tmp_path: Path) -> None:
    target = tmp_path / "injected.yaml"
    code, out, _ = cli("inject", "-f", EXAMPLES / "daemonset.yaml", "--output", target)
    assert code == 0
    assert out == ""
    _, expected, _ = cli("inject", "-f", EXAMPLES / "daemonset.yaml")
    assert target.read_text() == expected


def test_json_input_object_and_list_are_accepted(cli: Any) -> None:
    deployment = documents((EXAMPLES / "deployment.yaml").read_text())[0]
    code, out, _ = cli("inject", "-f", "-", stdin=json.dumps(deployment, indent="\t"))
    assert code == 0
    assert_injected(documents(out)[0])
    listed = documents((EXAMPLES / "list.yaml").read_text())[0]
    code, out, _ = cli("inject", "-f", "-", "-o", "json", stdin=json.dumps(listed))
    assert code == 0
    obj = json.loads(out)
    assert obj["items"][0] == listed["items"][0]
    assert_injected(obj["items"][1])


def test_json_array_input_is_refused_clearly(cli: Any) -> None:
    code, out, err = cli("inject", "-f", "-", stdin="[1, 2]")
    assert code == 1
    assert "JSON array" in err and "kind: List" in err
    assert out == "[1, 2]\n---\n"


# -- bad input ----------------------------------------------------------------------------------------------------

UNKNOWN_KIND = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: gear\nspec:\n  teeth: 12\n"


def pod_with(name: str, annotations: dict[str, str]) -> str:
    lines = "".join(f"    {k}: {json.dumps(v)}\n" for k, v in annotations.items())
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  annotations:\n{lines}"
        "spec:\n  containers:\n  - name: app\n    image: nginx\n"
    )


BAD = {
    "bad-ranges": pod_with("bad-ranges", {"traffic.sidecar.istio.io/excludeOutboundIPRanges": "*"}),
    "bad-cpu": pod_with("bad-cpu", {"sidecar.istio.io/proxyCPU": "lots"}),
    "nope": pod_with("nope", {"inject.istio.io/templates": "nope"}),
}


def test_unknown_kind_passes_through_unchanged(cli: Any) -> None:
    code, out, err = cli("inject", "-f", "-", stdin=UNKNOWN_KIND)
    assert code == 0
    assert out == UNKNOWN_KIND + "---\n"
    assert "1 passed through" in err


def test_malformed_yaml_fails_its_document_only_and_says_where(cli: Any) -> None:
    broken = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken\n  labels: {app: [oops\n"
    text = (EXAMPLES / "pod.yaml").read_text() + "---\n" + broken
    first_line_of_broken = text.splitlines().index("apiVersion: v1", 3) + 1
    code, out, err = cli("inject", "-f", "-", stdin=text)
    assert code == 1
    assert "error: <stdin>: document 1: not valid YAML" in err
    # Line numbers count from the top of the file, not of the document.
    assert f"in <stdin>, line {first_line_of_broken + 4}," in err
    objs = out.split("---\n")
    assert "istio-proxy" in objs[0]
    assert objs[1] == broken


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("bad-ranges", "invalid value '*' for annotation 'traffic.sidecar.istio.io/excludeOutboundIPRanges'"),
        ("bad-cpu", "invalid value 'lots' for annotation 'sidecar.istio.io/proxyCPU'"),
        ("nope", "requested template 'nope' not found"),
    ],
)
def test_invalid_annotations_fail_the_pod_naming_document_kind_name_and_field(
    cli: Any, case: str, expected: str
) -> None:
    text = UNKNOWN_KIND + "---\n" + BAD[case]
    code, out, err = cli("inject", "-f", "-", stdin=text)
    assert code == 1
    assert f"error: <stdin>: document 1 (Pod '{case}'): " in err
    assert expected in err
    assert "(the document is written out unchanged)" in err
    assert out == UNKNOWN_KIND + "---\n" + BAD[case] + "---\n"


def test_missing_pod_template_is_an_error(cli: Any) -> None:
    text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: empty\nspec:\n  replicas: 1\n"
    code, out, err = cli("inject", "-f", "-", stdin=text)
    assert code == 1
    assert "document 0 (Deployment 'empty'): spec.template is required" in err
    assert out == text + "---\n"


def test_missing_job_template_of_a_cronjob_is_an_error(cli: Any) -> None:
    text = "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: tick\nspec:\n  schedule: '* * * * *'\n"
    code, _, err = cli("inject", "-f", "-", stdin=text)
    assert code == 1
    assert "spec.jobTemplate.spec.template is required" in err


def test_broken_template_in_the_configuration_stops_the_command(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "templates:\n  sidecar: |\n    spec:\n      containers:\n      - name: istio-proxy\n"
        "        image: {{ .Values.hub\n"
    )
    (tmp_path / "values.json").write_text("{}")
    code, out, err = cli("inject", "-f", EXAMPLES / "pod.yaml", "--config-dir", tmp_path)
    assert code == 2
    assert out == ""
    assert "templates.sidecar does not parse" in err
    assert "unclosed action" in err


def test_template_failing_at_render_time_fails_the_document(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "templates:\n  sidecar: |\n    spec:\n      containers:\n      - name: istio-proxy\n"
        '        image: {{ fail "no image for you" }}\n'
    )
    code, _, err = cli("inject", "-f", EXAMPLES / "pod.yaml", "--config-dir", tmp_path)
    assert code == 1
    assert "document 0 (Pod 'details-v1')" in err and "no image for you" in err


def test_missing_input_file_and_no_input_are_usage_errors(cli: Any, tmp_path: Path) -> None:
    code, _, err = cli("inject", "-f", tmp_path / "absent.yaml")
    assert code == 2
    assert "cannot read" in err and "absent.yaml" in err
    code, _, err = cli("inject")
    assert code == 2
    assert "no input" in err


def test_diff_with_patch_output_is_a_usage_error(cli: Any) -> None:
    code, _, err = cli("inject", "-f", EXAMPLES / "pod.yaml", "-o", "patch", "--diff")
    assert code == 2
    assert "--diff" in err


# -- from the cluster -----------------------------------------------------------------------------------------------


def fake_cluster(configmaps_by_name: dict[str, dict[str, str]], *, fail: int | None = None) -> Client:
    kubeconfig = KubeConfig.from_dict(
        {
            "clusters": [{"name": "c", "cluster": {"server": "https://k8s.test"}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "x",
        }
    )

    def handler(request: httpx2.Request) -> httpx2.Response:
        if fail is not None:
            status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "denied", "code": fail}
            return httpx2.Response(fail, json=status)
        prefix = "/api/v1/namespaces/istio-system/configmaps/"
        name = request.url.path.removeprefix(prefix)
        if request.url.path.startswith(prefix) and name in configmaps_by_name:
            body = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name},
                "data": configmaps_by_name[name],
            }
            return httpx2.Response(200, json=body)
        status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "not found", "code": 404}
        return httpx2.Response(404, json=status)

    config = kubeconfig.get()
    assert config is not None
    return Client(config=config, transport=httpx2.MockTransport(handler))


INJECTOR_DATA = {
    "config": (BUILTIN_DATA / "config.yaml").read_text(),
    "values": (BUILTIN_DATA / "values.json").read_text().replace('"tag": "1.28.0"', '"tag": "1.29.1"'),
}


def test_from_cluster_reads_the_revision_configmaps(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client = fake_cluster({"istio-sidecar-injector-canary": INJECTOR_DATA, "istio-canary": {"mesh": "{}"}})
    monkeypatch.setattr(configmaps, "kube_client", lambda *args: client)
    code, out, err = cli("inject", "-f", EXAMPLES / "pod.yaml", "--from-cluster", "--revision", "canary")
    assert code == 0, err
    pod = documents(out)[0]
    (proxy,) = [c for c in pod["spec"]["containers"] if c["name"] == "istio-proxy"]
    assert proxy["image"].endswith(":1.29.1")
    assert pod["metadata"]["annotations"]["istio.io/rev"] == "canary"


def test_from_cluster_without_the_injector_configmap_says_what_is_missing(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = fake_cluster({})
    monkeypatch.setattr(configmaps, "kube_client", lambda *args: client)
    code, out, err = cli("inject", "-f", EXAMPLES / "pod.yaml", "--from-cluster")
    assert code == 2
    assert out == ""
    assert "ConfigMap istio-system/istio-sidecar-injector not found" in err


def test_from_cluster_without_permission_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(configmaps.ClusterError, match="not allowed to read ConfigMap istio-system/istio-sidecar"):
        configmaps.load_cluster_config(client=fake_cluster({}, fail=403))


def test_from_cluster_with_an_unreachable_server_gives_a_clear_error(cli: Any, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "c", "cluster": {"server": "https://127.0.0.1:9", "insecure-skip-tls-verify": True}}
                ],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    code, out, err = cli("inject", "-f", EXAMPLES / "pod.yaml", "--from-cluster", "--kubeconfig", kubeconfig)
    assert code == 2
    assert out == ""
    assert "cannot reach the Kubernetes API server" in err


def test_from_cluster_without_kubeconfig_gives_a_clear_error(cli: Any, tmp_path: Path) -> None:
    code, _, err = cli("inject", "-f", EXAMPLES / "pod.yaml", "--from-cluster", "--kubeconfig", tmp_path / "none")
    assert code == 2
    assert "--from-cluster:" in err and "kubeconfig" in err


def test_configmap_names_follow_the_revision() -> None:
    assert configmaps.configmap_names("") == ("istio-sidecar-injector", "istio")
    assert configmaps.configmap_names("default") == ("istio-sidecar-injector", "istio")
    assert configmaps.configmap_names("1-29") == ("istio-sidecar-injector-1-29", "istio-1-29")


# -- uninject ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_inject_then_uninject_gives_back_the_original(cli: Any, path: Path, tmp_path: Path) -> None:
    injected = tmp_path / "injected.yaml"
    assert cli("inject", "-f", path, "--output", injected)[0] == 0
    code, out, err = cli("uninject", "-f", injected)
    assert code == 0, err
    assert "1 uninjected" in err
    assert documents(out) == normalized_inputs(path)


def test_uninject_leaves_documents_that_were_not_injected_as_they_are(cli: Any) -> None:
    text = (EXAMPLES / "pod.yaml").read_text() + "---\n" + UNKNOWN_KIND
    code, out, err = cli("uninject", "-f", "-", stdin=text)
    assert code == 0
    assert out == text + "---\n"
    assert "0 uninjected, 1 unchanged, 1 passed through" in err


def test_uninject_diff_removes_the_proxy(cli: Any, tmp_path: Path) -> None:
    injected = tmp_path / "injected.yaml"
    cli("inject", "-f", EXAMPLES / "pod.yaml", "--output", injected)
    code, out, _ = cli("uninject", "-f", injected, "--diff")
    assert code == 0
    assert out.splitlines()[1].endswith("uninjected")
    assert any(line[1:].strip() == "name: istio-proxy" for line in out.splitlines()[2:] if line.startswith("-"))
    assert not any(line.startswith("+") and "istio" in line for line in out.splitlines()[2:])


def test_uninject_reports_an_unreadable_status_annotation(cli: Any) -> None:
    text = pod_with("odd", {"sidecar.istio.io/status": "{oops"})
    code, out, err = cli("uninject", "-f", "-", stdin=text)
    assert code == 1
    assert "document 0 (Pod 'odd'): annotation sidecar.istio.io/status is not valid JSON" in err
    assert out == text + "---\n"


# -- a real process ----------------------------------------------------------------------------------------------


def test_the_installed_command_pipes_stdin_to_stdout_and_sets_the_exit_code() -> None:
    text = (EXAMPLES / "deployment.yaml").read_text() + "---\n" + BAD["bad-ranges"]
    script = Path(sys.executable).with_name("meshinject")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from meshinject.cli import main; main()"]
    proc = subprocess.run(
        [*command, "inject", "-f", "-"], input=text, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 1
    objs = proc.stdout.split("---\n")
    assert_injected(yaml.safe_load(objs[0]))
    assert objs[1] == BAD["bad-ranges"]
    assert "document 1 (Pod 'bad-ranges')" in proc.stderr
    assert "excludeIPRanges invalid" in proc.stderr
    # Standard output is plain YAML: no terminal styling leaks into it.
    assert "\x1b[" not in proc.stdout


def test_json_output_leaves_out_a_document_that_is_not_yaml_and_says_so(cli: Any) -> None:
    text = (EXAMPLES / "pod.yaml").read_text() + "---\nkind: [unclosed\n"
    code, out, err = cli("inject", "-f", "-", "-o", "json", stdin=text)
    assert code == 1
    listed = json.loads(out)
    assert [i["kind"] for i in listed["items"]] == ["Pod"]
    assert "document 1 cannot be written as JSON" in err


def test_standard_input_can_be_named_once_only(cli: Any) -> None:
    code, _, err = cli("inject", "-f", "-", "-f", "-", stdin="")
    assert code == 2
    assert "only once" in err
