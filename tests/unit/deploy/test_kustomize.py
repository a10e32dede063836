"""Offline validation of the Kubernetes manifests (deploy/k8s) and docker-compose.yml.

Each overlay is rendered with `kubectl kustomize` and the result is checked for the properties the platform
relies on: every service deployed (API, worker, Service, migration Job), one worker per service, probes,
resource limits, non-root containers, secrets only by reference, the topics, a pinned production image, and
settings that the services' own pydantic settings accept in production."""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib
import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import kubernetes_validate
import promql_parser
import pytest
import yaml

from shared.events.catalogue import Topic
from shared.ops_metrics import FLOW_METRICS
from shared.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[3]
SERVICES = ("intake", "eligibility", "payments", "monitoring")
OVERLAYS = ("production", "demo")
IMAGE = "registry.example.invalid/social-assistance"
SECRETISH = re.compile(r"SECRET|KEY|PASSWORD|TOKEN|CREDENTIAL", re.IGNORECASE)
URL_WITH_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)
UNPREFIXED_FALLBACKS = {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "ENVIRONMENT"}

Doc = dict[str, Any]


def render(overlay: str) -> list[Doc]:
    result = subprocess.run(
        ["kubectl", "kustomize", str(REPO / "deploy" / "k8s" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[Doc]]:
    return request.param, render(request.param)


def find(docs: list[Doc], kind: str, name: str | None = None) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def one(docs: list[Doc], kind: str, name: str) -> Doc:
    found = find(docs, kind, name)
    assert len(found) == 1, f"expected exactly one {kind} {name}, found {len(found)}"
    return found[0]


def pod_spec(doc: Doc) -> Doc:
    return doc["spec"]["template"]["spec"]


def all_containers(doc: Doc) -> list[Doc]:
    spec = pod_spec(doc)
    return spec.get("initContainers", []) + spec["containers"]


def workloads(docs: list[Doc]) -> list[Doc]:
    return [d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")]


def script(container: Doc) -> str:
    """The container's command line as one string."""
    return " ".join([*container.get("command", []), *container.get("args", [])])


def invocation(container: Doc) -> list[str]:
    """What the container finally runs: the part after `exec` of a `sh -c` wrapper, or the command itself."""
    argv = [*container.get("command", []), *container.get("args", [])]
    if argv[:2] == ["sh", "-c"]:
        line = " ".join(argv[2:])
        assert " exec " in f" {line}", f"a shell wrapper must exec the process (PID 1 gets SIGTERM): {line}"
        return shlex.split(line.split("exec ", 1)[1])
    return argv


def compose() -> Doc:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def compose_argv(service: Doc) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


# --- the services are all there -------------------------------------------------------------------


def test_every_service_has_api_worker_service_and_migration_job(rendered: tuple[str, list[Doc]]) -> None:
    _, docs = rendered
    for name in SERVICES:
        api = one(docs, "Deployment", f"{name}-api")
        worker = one(docs, "Deployment", f"{name}-worker")
        job = one(docs, "Job", f"{name}-migrate")
        service = one(docs, "Service", name)
        one(docs, "PodDisruptionBudget", f"{name}-api")

        assert invocation(api["spec"]["template"]["spec"]["containers"][0])[:2] == [
            "uvicorn",
            f"services.{name}.api:app",
        ]
        assert invocation(pod_spec(worker)["containers"][0]) == ["python", "-m", f"services.{name}.worker"]
        assert invocation(pod_spec(job)["containers"][0]) == ["python", "-m", "shared.migrations", name]

        # The Service and the PDB select the API pods, and only them.
        api_labels = api["spec"]["template"]["metadata"]["labels"]
        selector = service["spec"]["selector"]
        assert selector.items() <= api_labels.items()
        assert not selector.items() <= worker["spec"]["template"]["metadata"]["labels"].items()
        assert [p["port"] for p in service["spec"]["ports"]] == [8000]
        pdb = one(docs, "PodDisruptionBudget", f"{name}-api")
        assert pdb["spec"]["selector"]["matchLabels"].items() <= api_labels.items()


def test_one_worker_per_service_in_every_overlay(rendered: tuple[str, list[Doc]]) -> None:
    overlay, docs = rendered
    for name in SERVICES:
        worker = one(docs, "Deployment", f"{name}-worker")
        assert worker["spec"]["replicas"] == 1, f"{overlay}: {name} worker must run exactly one relay"
        # A rolling update would briefly run two relays.
        assert worker["spec"]["strategy"]["type"] == "Recreate"


def test_api_replicas_are_the_autoscalers_alone(rendered: tuple[str, list[Doc]]) -> None:
    """An API Deployment that set `replicas` would be reset to it by every `kubectl apply`, under its HPA."""
    overlay, docs = rendered
    expected = {"production": 2, "demo": 1}[overlay]
    for name in SERVICES:
        assert "replicas" not in one(docs, "Deployment", f"{name}-api")["spec"], f"{overlay}: {name}-api"
        assert one(docs, "HorizontalPodAutoscaler", f"{name}-api")["spec"]["minReplicas"] == expected


def test_database_and_kafka_sizes_per_overlay(rendered: tuple[str, list[Doc]]) -> None:
    overlay, docs = rendered
    (cluster,) = find(docs, "Cluster")
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    assert cluster["spec"]["instances"] == {"production": 3, "demo": 1}[overlay]
    kafka_nodes = sum(pool["spec"]["replicas"] for pool in find(docs, "KafkaNodePool"))
    for topic in find(docs, "KafkaTopic"):
        assert topic["spec"]["replicas"] <= kafka_nodes
        assert int(topic["spec"]["config"]["min.insync.replicas"]) <= topic["spec"]["replicas"]


def test_postgresql_image_is_a_pinned_minor_version_of_a_supported_flavour(rendered: tuple[str, list[Doc]]) -> None:
    """Not the bare major tag (CloudNativePG's deprecated `system` image, moving with every minor release)."""
    _, docs = rendered
    (cluster,) = find(docs, "Cluster")
    image = cluster["spec"]["imageName"]
    repository, tag = image.rsplit(":", 1)
    assert repository == "ghcr.io/cloudnative-pg/postgresql"
    assert re.fullmatch(r"15\.\d+(-\d{12})?-(minimal|standard)-(bookworm|trixie)", tag), image
    # The local stack and the suite run PostgreSQL 15: the cluster must be the same major version.
    assert tag.split(".", 1)[0] == "15"


def test_no_workload_needs_a_shared_volume(rendered: tuple[str, list[Doc]]) -> None:
    """Evidence files are kept in PostgreSQL: no claim (a ReadWriteMany one stays Pending on a county cluster's
    default block storage class, and its pods with it), only the pods' own emptyDir scratch space."""
    overlay, docs = rendered
    assert not find(docs, "PersistentVolumeClaim"), overlay
    for doc in workloads(docs):
        for volume in pod_spec(doc).get("volumes", []):
            assert set(volume) == {"name", "emptyDir"}, f"{overlay}/{doc['metadata']['name']}: {volume}"


# --- containers -----------------------------------------------------------------------------------


def test_every_container_has_limits_and_runs_as_non_root(rendered: tuple[str, list[Doc]]) -> None:
    overlay, docs = rendered
    assert workloads(docs)
    for doc in workloads(docs):
        where = f"{overlay}/{doc['kind']}/{doc['metadata']['name']}"
        spec = pod_spec(doc)
        assert spec.get("securityContext", {}).get("runAsNonRoot") is True, where
        for container in all_containers(doc):
            limits = container.get("resources", {}).get("limits", {})
            assert {"cpu", "memory"} <= limits.keys(), f"{where}/{container['name']}: limits {limits}"
            security = container.get("securityContext", {})
            assert security.get("runAsNonRoot", spec["securityContext"]["runAsNonRoot"]) is True, where
            assert security.get("readOnlyRootFilesystem") is True, where
            assert security.get("allowPrivilegeEscalation") is False, where
            assert container["image"].startswith(IMAGE + ":") or container["image"].startswith(IMAGE + "@")


def test_apis_have_probes_port_and_scrape_annotations(rendered: tuple[str, list[Doc]]) -> None:
    _, docs = rendered
    for name in SERVICES:
        api = one(docs, "Deployment", f"{name}-api")
        (container,) = pod_spec(api)["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": 8000}
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            get = container[probe]["httpGet"]
            assert get["path"] == path
            assert get["port"] in ("http", 8000)
        annotations = api["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == "8000"
        assert annotations["prometheus.io/path"] == "/metrics"


def test_production_image_is_pinned() -> None:
    for doc in workloads(render("production")):
        for container in all_containers(doc):
            image = container["image"]
            tagged = ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest")
            assert "@sha256:" in image or tagged, image


# --- secrets and configuration --------------------------------------------------------------------


def test_no_plaintext_secrets(rendered: tuple[str, list[Doc]]) -> None:
    overlay, docs = rendered
    assert not find(docs, "Secret"), "Secrets are created out of band, never rendered from the repository"
    for doc in find(docs, "ConfigMap"):
        for key, value in doc.get("data", {}).items():
            assert not SECRETISH.search(key), f"{overlay}: ConfigMap key {key} looks secret"
            assert not URL_WITH_CREDENTIALS.search(str(value)), f"{overlay}: ConfigMap {key} has credentials"
    for doc in workloads(docs):
        for container in all_containers(doc):
            where = f"{overlay}/{doc['metadata']['name']}/{container['name']}"
            assert not URL_WITH_CREDENTIALS.search(script(container)), f"credentials in {where} command"
            for env in container.get("env", []):
                where = f"{overlay}/{doc['metadata']['name']}/{env['name']}"
                if "value" in env:
                    assert not SECRETISH.search(env["name"]), f"{where} must come from a Secret"
                    assert not URL_WITH_CREDENTIALS.search(str(env["value"])), f"{where} carries credentials"
                    assert not env["name"].endswith("DATABASE_URL") and env["name"] != "DB_URI", where
                if SECRETISH.search(env["name"]) or env["name"].endswith(("DATABASE_URL", "DB_URI")):
                    assert "secretKeyRef" in env.get("valueFrom", {}), f"{where} must come from a Secret"


def settings_env(container: Doc, configmaps: dict[str, dict[str, str]]) -> dict[str, str]:
    """The environment the container would see, with made-up values for the referenced secrets."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(configmaps[source["configMapRef"]["name"]])
    fake = {
        "uri": "postgresql://app:s3cr%40t@assistance-db-rw.social-assistance:5432/assistance",
        "jwks-url": "https://idp.example.invalid/realms/county/protocol/openid-connect/certs",
        "issuer": "https://idp.example.invalid/realms/county",
        "audience": "social-assistance",
        "hmac-key": "a-real-key-from-the-secret-store",
        "keys": '{"2026-11": "cmVhbC1zZWFsaW5nLWtleS1mcm9tLXRoZS1zdG9yZSE"}',
        "key-id": "2026-11",
    }
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        elif ref := item["valueFrom"].get("configMapKeyRef"):
            env[item["name"]] = configmaps[ref["name"]][ref["key"]]
        else:
            env[item["name"]] = fake[item["valueFrom"]["secretKeyRef"]["key"]]
    return env


def run_wrapper(container: Doc, env: dict[str, str], variable: str) -> str:
    """Run the container's shell wrapper for real, but exec `printenv <variable>` instead of the service."""
    argv = [*container["command"], *container["args"]]
    assert argv[:2] == ["sh", "-c"]
    prefix = " ".join(argv[2:]).split("exec ", 1)[0]
    result = subprocess.run(
        ["sh", "-c", f"{prefix}exec printenv {variable}"],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_database_url_comes_from_the_cnpg_app_secret_with_the_asyncpg_scheme(rendered: tuple[str, list[Doc]]) -> None:
    _, docs = rendered
    (cluster,) = find(docs, "Cluster")
    configmaps = {c["metadata"]["name"]: c.get("data", {}) for c in find(docs, "ConfigMap")}
    for name in SERVICES:
        for doc, variable in (
            (one(docs, "Deployment", f"{name}-api"), f"{name.upper()}_DATABASE_URL"),
            (one(docs, "Deployment", f"{name}-worker"), f"{name.upper()}_DATABASE_URL"),
            (one(docs, "Job", f"{name}-migrate"), "DATABASE_URL"),
        ):
            (container,) = pod_spec(doc)["containers"]
            refs = [e["valueFrom"]["secretKeyRef"] for e in container["env"] if e["name"] == "DB_URI"]
            assert refs == [{"name": f"{cluster['metadata']['name']}-app", "key": "uri"}]
            url = run_wrapper(container, settings_env(container, configmaps), variable)
            assert url == "postgresql+asyncpg://app:s3cr%40t@assistance-db-rw.social-assistance:5432/assistance"


def test_services_accept_their_configuration_in_production(
    rendered: tuple[str, list[Doc]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The env var names are real settings of the service, and the service's own settings validation (which
    refuses development defaults in production) passes with what the manifests provide."""
    _, docs = rendered
    configmaps = {c["metadata"]["name"]: c.get("data", {}) for c in find(docs, "ConfigMap")}
    for name in SERVICES:
        prefix = f"{name.upper()}_"
        settings_cls = importlib.import_module(f"services.{name}.config").Settings
        fields = set(settings_cls.model_fields)
        for kind in ("api", "worker"):
            (container,) = pod_spec(one(docs, "Deployment", f"{name}-{kind}"))["containers"]
            env = settings_env(container, configmaps)
            for key in env:
                if key.startswith(prefix):
                    assert key.removeprefix(prefix).lower() in fields, f"{key} is not a setting"
                elif not any(key.startswith(f"{other.upper()}_") for other in SERVICES):
                    assert key in UNPREFIXED_FALLBACKS | {"DB_URI", "PYTHONDONTWRITEBYTECODE"}, key
            env[f"{prefix}DATABASE_URL"] = run_wrapper(container, env, f"{prefix}DATABASE_URL")
            with monkeypatch.context() as patch:
                for key in os.environ:  # whatever the test run itself has set must not leak in
                    if key in UNPREFIXED_FALLBACKS or key.startswith(prefix):
                        patch.delenv(key)
                for key, value in env.items():
                    patch.setenv(key, value)
                settings = settings_cls()
            assert settings.environment == "production"
            assert settings.database_url.startswith("postgresql+asyncpg://")
            assert settings.jwt_jwks_url and settings.jwt_issuer
            assert settings.pii_hmac_key == "a-real-key-from-the-secret-store"
            (kafka,) = find(docs, "Kafka")
            assert settings.kafka_bootstrap_servers == f"{kafka['metadata']['name']}-kafka-bootstrap:9092"


# --- Kafka ----------------------------------------------------------------------------------------


def test_all_topics_and_dead_letter_topics_with_six_partitions(rendered: tuple[str, list[Doc]]) -> None:
    _, docs = rendered
    (kafka,) = find(docs, "Kafka")
    topics = {}
    for doc in find(docs, "KafkaTopic"):
        assert doc["apiVersion"] == "kafka.strimzi.io/v1"
        assert doc["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        topics[doc["spec"].get("topicName", doc["metadata"]["name"])] = doc["spec"]["partitions"]
    expected = {name for t in Topic for name in (t.value, f"{t.value}.dlq")}
    assert len(expected) == 8
    assert topics == dict.fromkeys(expected, 6)
    for pool in find(docs, "KafkaNodePool"):
        assert pool["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]


# --- network policies -----------------------------------------------------------------------------


def _selects(selector: Doc, labels: dict[str, str]) -> bool:
    return selector.get("matchLabels", {}).items() <= labels.items()


def test_network_policies_open_8000_to_apis_and_egress_to_postgres_kafka(rendered: tuple[str, list[Doc]]) -> None:
    _, docs = rendered
    policies = find(docs, "NetworkPolicy")
    assert policies
    (cluster,) = find(docs, "Cluster")
    (kafka,) = find(docs, "Kafka")
    for doc in workloads(docs):
        labels = doc["spec"]["template"]["metadata"]["labels"]
        applying = [p for p in policies if _selects(p["spec"]["podSelector"], labels)]
        assert applying, f"no NetworkPolicy selects {doc['metadata']['name']}"
        ingress_ports = {
            port["port"] for p in applying for rule in p["spec"].get("ingress", []) for port in rule.get("ports", [])
        }
        assert ingress_ports == ({8000} if labels["app.kubernetes.io/component"] == "api" else set())
        egress = [
            (peer.get("podSelector", {}).get("matchLabels", {}), port["port"])
            for p in applying
            for rule in p["spec"].get("egress", [])
            for peer in rule.get("to", [{}])
            for port in rule.get("ports", [])
        ]
        assert ({"cnpg.io/cluster": cluster["metadata"]["name"]}, 5432) in egress
        assert any(sel.get("strimzi.io/cluster") == kafka["metadata"]["name"] and port == 9092 for sel, port in egress)


# --- docker-compose ----------------------------------------------------------------------------


def test_compose_defines_the_same_apis_workers_and_commands() -> None:
    services = compose()["services"]
    docs = render("production")
    for name in SERVICES:
        api, worker = services[f"{name}-api"], services[f"{name}-worker"]
        k8s_api = pod_spec(one(docs, "Deployment", f"{name}-api"))["containers"][0]
        k8s_worker = pod_spec(one(docs, "Deployment", f"{name}-worker"))["containers"][0]
        assert compose_argv(api) == invocation(k8s_api)
        assert compose_argv(worker) == invocation(k8s_worker)
        for service in (api, worker):
            assert service["image"].startswith(IMAGE + ":")
            assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    app_services = {n for n, s in services.items() if s.get("image", "").startswith(IMAGE)}
    assert app_services == {f"{n}-{k}" for n in SERVICES for k in ("api", "worker")} | {"migrate"}


def test_compose_migrates_every_service_before_the_apps_and_uses_the_pinned_infrastructure() -> None:
    services = compose()["services"]
    docs = render("production")
    migrate = compose_argv(services["migrate"])
    jobs = [invocation(pod_spec(one(docs, "Job", f"{n}-migrate"))["containers"][0]) for n in SERVICES]
    assert migrate[:3] == jobs[0][:3] == ["python", "-m", "shared.migrations"]
    assert migrate[3:] == [job[3] for job in jobs]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["postgres"]["image"] == "postgres:15"
    assert services["kafka"]["image"] == "apache/kafka:4.1.1"
    assert "controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
    topics_command = " ".join(compose_argv(services["kafka-topics"]))
    for topic in Topic:
        assert topic.value in topics_command
    assert "--partitions 6" in topics_command and ".dlq" in topics_command


def test_dockerfile_runs_as_non_root_and_serves_the_api_given_service() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    user = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert user and user[-1] not in ("root", "0")
    assert "pip install ." in text
    cmd = re.findall(r"^CMD\s+(.+)$", text, re.MULTILINE)[-1]
    assert "services.${SERVICE}.api:app" in cmd and "--port 8000" in cmd


# --- schemas (offline) ----------------------------------------------------------------------------

KUBERNETES_VERSION = "1.30.0"  # the oldest Kubernetes the manifests are written for


def test_kubernetes_resources_match_the_kubernetes_schema(rendered: tuple[str, list[Doc]]) -> None:
    """Every built-in resource against the Kubernetes OpenAPI schema (kubernetes-validate ships them), strict:
    a misspelt or misplaced field fails, as `kubectl apply --validate=strict` would."""
    overlay, docs = rendered
    built_in = [d for d in docs if d["kind"] not in OPERATED]
    assert {"Deployment", "HorizontalPodAutoscaler", "Service", "Job", "NetworkPolicy"} <= {d["kind"] for d in built_in}
    for doc in built_in:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{overlay}: {doc['kind']}/{doc['metadata']['name']}: {exc.message} at {list(exc.path)}")


CRDS = REPO / "deploy" / "k8s" / "crds"
# The operator releases the manifests support, oldest and newest of each range (README, "Production"); their CRDs
# are kept in deploy/k8s/crds/<operator>-<version>/, fetched from the registries by deploy/k8s/crds/fetch.py.
OPERATOR_RELEASES = {
    "strimzi": ("0.49.0", "1.2.0"),
    "cloudnative-pg": ("1.25.0", "1.30.0"),
    "prometheus-operator": ("0.85.0", "0.93.0"),
}
OPERATED = {
    "Kafka": ("strimzi", "kafka.strimzi.io/v1"),
    "KafkaNodePool": ("strimzi", "kafka.strimzi.io/v1"),
    "KafkaTopic": ("strimzi", "kafka.strimzi.io/v1"),
    "Cluster": ("cloudnative-pg", "postgresql.cnpg.io/v1"),
    "ServiceMonitor": ("prometheus-operator", "monitoring.coreos.com/v1"),
    "PrometheusRule": ("prometheus-operator", "monitoring.coreos.com/v1"),
}


def json_schema(node: Any, root: bool = True) -> Any:
    """A CRD's structural openAPIV3Schema as JSON Schema, read as `kubectl apply` (strict field validation)
    reads it: a field the schema does not declare is an error unless the schema preserves unknown fields; an
    int-or-string takes either. ObjectMeta is left to the API server, as the CRD does."""
    if isinstance(node, list):
        return [json_schema(item, root=False) for item in node]
    if not isinstance(node, dict):
        return node
    schema = {
        key: (
            {name: json_schema(sub, root=False) for name, sub in value.items()}
            if key == "properties"
            else json_schema(value, root=False)
        )
        for key, value in node.items()
        if not key.startswith("x-kubernetes-") and key not in ("description", "default", "example", "format")
    }
    if node.get("x-kubernetes-int-or-string"):
        schema.pop("type", None)
        schema.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    open_object = node.get("x-kubernetes-preserve-unknown-fields") or node.get("x-kubernetes-embedded-resource")
    if node.get("type") == "object" and "additionalProperties" not in node and not open_object:
        schema["additionalProperties"] = False
    if root:
        schema["properties"]["metadata"] = {"type": "object"}
    return schema


@dataclasses.dataclass(frozen=True)
class Served:
    """One API version a CRD serves: its schema as the API server reads it."""

    schema: Doc  # the openAPIV3Schema, with its CEL rules (x-kubernetes-validations)
    validator: jsonschema.Draft202012Validator  # the structural part, as JSON Schema


@functools.cache
def crd_validators(operator: str, version: str) -> dict[tuple[str, str], Served]:
    """(apiVersion, kind) → every version the release's CRDs serve."""
    validators = {}
    for path in sorted((CRDS / f"{operator}-{version}").glob("*.yaml")):
        crd = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
        assert crd["kind"] == "CustomResourceDefinition", path
        for served in crd["spec"]["versions"]:
            if served["served"]:
                api_version = f"{crd['spec']['group']}/{served['name']}"
                schema = served["schema"]["openAPIV3Schema"]
                validator = jsonschema.Draft202012Validator(json_schema(schema))
                validators[(api_version, crd["spec"]["names"]["kind"])] = Served(schema, validator)
    return validators


def cel_errors(schema: Doc, value: Any, path: str = "") -> list[str]:
    """The CRD's CEL rules (x-kubernetes-validations) on each part of the document they are declared on, as the
    API server evaluates them on create (transition rules, which read `oldSelf`, only apply to updates)."""
    errors = []
    for rule in schema.get("x-kubernetes-validations", []):
        if "oldSelf" not in rule["rule"]:
            environment = celpy.Environment()
            program = environment.program(environment.compile(rule["rule"]))
            if not program.evaluate({"self": celpy.json_to_cel(value)}):
                errors.append(f"{path or '/'}: {rule.get('message', rule['rule'])}")
    if isinstance(value, dict):
        for key, item in value.items():
            sub = schema.get("properties", {}).get(key, schema.get("additionalProperties"))
            if isinstance(sub, dict):
                errors += cel_errors(sub, item, f"{path}/{key}")
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            errors += cel_errors(schema["items"], item, f"{path}/{index}")
    return errors


def crd_errors(served: Served, doc: Doc) -> list[str]:
    structural = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in served.validator.iter_errors(doc)]
    return structural or cel_errors(served.schema, doc)


@pytest.mark.parametrize("operator", sorted(OPERATOR_RELEASES))
def test_the_kept_crds_are_the_operators_own_for_every_release_supported(operator: str) -> None:
    """Each supported release's CRD files are there, one per kind the manifests use, and serve its API version."""
    kinds = {kind: api for kind, (op, api) in OPERATED.items() if op == operator}
    for version in OPERATOR_RELEASES[operator]:
        validators = crd_validators(operator, version)
        assert {(api, kind) for kind, api in kinds.items()} <= validators.keys(), f"{operator} {version}"
    assert sorted(p.name for p in CRDS.iterdir() if p.is_dir()) == sorted(
        f"{op}-{v}" for op, versions in OPERATOR_RELEASES.items() for v in versions
    )


def test_operator_resources_match_the_operators_crds(rendered: tuple[str, list[Doc]]) -> None:
    """Every custom resource of the overlay, against the CRD of the oldest and the newest release of its operator
    that the manifests support: required fields, types, enums, patterns, minimums, no field the CRD lacks, and its
    CEL rules."""
    overlay, docs = rendered
    operated = [d for d in docs if d["kind"] in OPERATED]
    assert {d["kind"] for d in operated} == set(OPERATED)
    assert len(find(docs, "KafkaTopic")) == 8
    for operator, versions in OPERATOR_RELEASES.items():
        for version in versions:
            validators = crd_validators(operator, version)
            for doc in (d for d in operated if OPERATED[d["kind"]][0] == operator):
                where = f"{overlay}: {operator} {version}: {doc['kind']}/{doc['metadata']['name']}"
                assert doc["apiVersion"] == OPERATED[doc["kind"]][1], where
                validator = validators.get((doc["apiVersion"], doc["kind"]))
                assert validator, f"{where}: {operator} {version} does not serve {doc['apiVersion']}"
                assert not crd_errors(validator, doc), f"{where}: {crd_errors(validator, doc)}"


def test_strimzi_from_1_0_serves_only_v1() -> None:
    """Why the manifests moved off kafka.strimzi.io/v1beta2: Strimzi 1.x no longer serves it."""
    assert ("kafka.strimzi.io/v1beta2", "Kafka") in crd_validators("strimzi", "0.49.0")
    served = crd_validators("strimzi", "1.2.0")
    assert {api for api, kind in served if kind in ("Kafka", "KafkaNodePool", "KafkaTopic")} == {"kafka.strimzi.io/v1"}


def test_the_crd_schemas_refuse_what_the_operators_refuse() -> None:
    """The real schemas, read strictly, catch each of these mistakes (and pass the document without it)."""
    docs = {d["kind"]: d for d in render("production")}
    mistakes = [
        ("Cluster", lambda d: d["spec"]["postgresql"]["parameters"].update(max_connections=500)),  # not a string
        ("Cluster", lambda d: d["spec"].update(instance=3)),  # misspelt
        ("Cluster", lambda d: d["spec"]["storage"].update(size=20)),  # int-or-string, but a quantity pattern
        (
            "Cluster",
            lambda d: d["spec"].update(
                imageCatalogRef={"apiGroup": "postgresql.cnpg.io", "kind": "ImageCatalog", "name": "pg", "major": 15}
            ),
        ),  # CEL: not with imageName
        ("Kafka", lambda d: d["spec"]["kafka"]["listeners"][0].update(port=9000)),  # below Strimzi's 9092
        ("Kafka", lambda d: d["spec"]["kafka"]["listeners"][0].pop("tls")),
        ("Kafka", lambda d: d["spec"].update(zookeeper={"replicas": 3})),  # KRaft only in v1
        ("KafkaNodePool", lambda d: d["spec"]["roles"].append("zookeeper")),
        ("KafkaNodePool", lambda d: d["spec"]["storage"]["volumes"][0].update(sise="20Gi")),
        ("KafkaTopic", lambda d: d["spec"].update(partitions=0)),
        ("ServiceMonitor", lambda d: d["spec"]["endpoints"][0].update(scrapeTimout="10s")),
        ("ServiceMonitor", lambda d: d["spec"]["endpoints"][0].update(interval="30 seconds")),
        ("PrometheusRule", lambda d: d["spec"]["groups"][0]["rules"][0].pop("expr")),
    ]
    for kind, mistake in mistakes:
        operator, api_version = OPERATED[kind]
        for version in OPERATOR_RELEASES[operator]:
            validator = crd_validators(operator, version)[(api_version, kind)]
            doc = copy.deepcopy(docs[kind])
            assert not crd_errors(validator, doc), kind
            mistake(doc)
            assert crd_errors(validator, doc), f"{operator} {version} {kind}: {mistake}"


# --- autoscaling and monitoring -------------------------------------------------------------------


def test_every_api_autoscales_and_no_worker_does(rendered: tuple[str, list[Doc]]) -> None:
    overlay, docs = rendered
    autoscalers = find(docs, "HorizontalPodAutoscaler")
    assert {h["spec"]["scaleTargetRef"]["name"] for h in autoscalers} == {f"{s}-api" for s in SERVICES}
    for name in SERVICES:
        hpa = one(docs, "HorizontalPodAutoscaler", f"{name}-api")
        target = hpa["spec"]["scaleTargetRef"]
        assert (target["apiVersion"], target["kind"]) == ("apps/v1", "Deployment")
        assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"] >= 1, overlay
        # CPU utilisation is relative to the request: without one the HPA cannot compute it.
        (container,) = pod_spec(one(docs, "Deployment", f"{name}-api"))["containers"]
        assert "cpu" in container["resources"]["requests"]


def test_prometheus_resources_carry_the_configured_release_label(
    rendered: tuple[str, list[Doc]], tmp_path: Path
) -> None:
    """kube-prometheus-stack selects ServiceMonitors and rules by `release`: every overlay sets it, and an overlay
    naming another helm release gets that name on each of them (and on nothing else)."""
    _, docs = rendered
    prometheus = [d for d in docs if d["apiVersion"].startswith("monitoring.coreos.com/")]
    assert len(prometheus) == len(SERVICES) + 1
    assert {d["metadata"]["labels"]["release"] for d in prometheus} == {"kube-prometheus-stack"}
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    production = (REPO / "deploy/k8s/overlays/production/kustomization.yaml").read_text()
    (overlay / "kustomization.yaml").write_text(
        production.replace("../../", f"{os.path.relpath(REPO / 'deploy/k8s', overlay)}/").replace(
            "release=kube-prometheus-stack", "release=county-monitoring"
        )
    )
    result = subprocess.run(["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, check=True)
    ours = [d for d in yaml.safe_load_all(result.stdout) if d]
    labelled = {(d["kind"], d["metadata"]["name"]) for d in ours if "release" in d["metadata"].get("labels", {})}
    assert labelled == {(d["kind"], d["metadata"]["name"]) for d in prometheus}
    assert {d["metadata"]["labels"].get("release") for d in ours if d["kind"] in OPERATED} >= {"county-monitoring"}
    assert not find(ours, "ConfigMap", "prometheus-release"), "the release name is local configuration"


def test_every_service_is_scraped_through_its_api_service(rendered: tuple[str, list[Doc]]) -> None:
    _, docs = rendered
    timeout = ServiceSettings.model_fields["metrics_timeout_seconds"].default
    for name in SERVICES:
        monitor = one(docs, "ServiceMonitor", name)
        service = one(docs, "Service", name)
        assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
        assert endpoint["path"] == "/metrics"
        # The database and Kafka are read concurrently, each within the timeout: well inside the scrape's.
        assert _seconds(endpoint["scrapeTimeout"]) >= 2 * timeout
        assert _seconds(endpoint["scrapeTimeout"]) <= _seconds(endpoint["interval"])


def _seconds(duration: str) -> float:
    return promql_parser.parse_duration(duration).total_seconds()  # Prometheus' own duration syntax


def test_database_connection_budget(rendered: tuple[str, list[Doc]]) -> None:
    """At full scale (every API at its HPA ceiling) the services' pools fit PostgreSQL's max_connections."""
    overlay, docs = rendered
    (cluster,) = find(docs, "Cluster")
    max_connections = int(cluster["spec"]["postgresql"]["parameters"]["max_connections"])
    configmaps = {c["metadata"]["name"]: c.get("data", {}) for c in find(docs, "ConfigMap")}
    needed = 0
    for name in SERVICES:
        prefix = f"{name.upper()}_"
        for kind in ("api", "worker"):
            deployment = one(docs, "Deployment", f"{name}-{kind}")
            (container,) = pod_spec(deployment)["containers"]
            env = settings_env(container, configmaps)
            pool = int(env.get(f"{prefix}DB_POOL_SIZE", ServiceSettings.model_fields["db_pool_size"].default))
            per_process = 2 * pool  # pool_size + max_overflow (shared.db.create_engine)
            if kind == "api":
                needed += one(docs, "HorizontalPodAutoscaler", f"{name}-api")["spec"]["maxReplicas"] * per_process
            else:
                processes = int(env.get(f"{prefix}CONSUMER_PROCESSES", 1))
                needed += deployment["spec"]["replicas"] * (processes * per_process + 1)  # + the relay's LISTEN
        needed += 2  # the migration Job
    reserved = 3  # superuser_reserved_connections: CloudNativePG's own operations
    assert needed <= max_connections - reserved, f"{overlay}: {needed} connections at full scale"


# --- alert rules and dashboard --------------------------------------------------------------------

# Gauges the services register with shared.app.add_database_gauges (agreed names: README, "Operations").
SERVICE_GAUGES = {
    "payments_batch_unreconciled_days",
    "payments_batch_lines",
    "monitoring_alerts_open",
    "monitoring_alerts_overdue",
}
PROCESS_METRICS = {"http_requests_total", "http_request_duration_seconds_bucket"}


def _metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (parsing fails on a syntax error)."""
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            names.add(node.name)
        elif isinstance(node, promql_parser.MatrixSelector):
            visit(node.vector_selector)
        for child in ("expr", "lhs", "rhs", "param"):
            if isinstance(getattr(node, child, None), promql_parser.Expr):
                visit(getattr(node, child))
        for arg in getattr(node, "args", None) or ():
            visit(arg)

    visit(promql_parser.parse(expr))
    return names


def test_metric_name_extraction_sees_every_selector() -> None:
    assert _metric_names("max by (a) (deriv(x[5m])) > 0 and histogram_quantile(0.9, sum by (le) (rate(y[1m])))") == {
        "x",
        "y",
    }


def test_alert_rules_cover_backlog_lag_dead_letters_and_unreconciled_batches() -> None:
    (rule,) = find(render("production"), "PrometheusRule")
    rules = [r for group in rule["spec"]["groups"] for r in group["rules"]]
    known = set(FLOW_METRICS) | SERVICE_GAUGES | PROCESS_METRICS
    read: set[str] = set()
    for r in rules:
        names = _metric_names(r["expr"])
        assert names <= known, f"{r['alert']} reads unknown metrics {names - known}"
        read |= names
        assert r["labels"]["severity"] in ("warning", "critical")
        assert r["annotations"]["summary"] and r["annotations"]["description"]
        assert _seconds(r["for"]) > 0
    assert {
        "OutboxBacklogGrowing",
        "OutboxRelayStalled",
        "ConsumerLagHigh",
        "DeadLetterMessages",
        "PaymentBatchUnreconciled",
    } <= {r["alert"] for r in rules}
    assert set(FLOW_METRICS) | {"payments_batch_unreconciled_days"} <= read


def test_grafana_dashboard_reads_the_flow_metrics() -> None:
    (configmap,) = [
        c for c in find(render("production"), "ConfigMap") if "grafana_dashboard" in c["metadata"].get("labels", {})
    ]
    dashboard = json.loads(configmap["data"]["event-flow.json"])
    assert dashboard == json.loads((REPO / "deploy/k8s/base/grafana/event-flow.json").read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    read: set[str] = set()
    for panel in panels:
        for target in panel["targets"]:
            read |= _metric_names(target["expr"])
    known = set(FLOW_METRICS) | SERVICE_GAUGES | PROCESS_METRICS
    assert read <= known, read - known
    assert set(FLOW_METRICS) | SERVICE_GAUGES <= read
