"""Offline validation of the Kubernetes manifests (deploy/k8s) and docker-compose.yml.

Each overlay is rendered with `kubectl kustomize` and the result is checked for the properties the platform
relies on: every service deployed (API, worker, Service, migration Job), one worker per service, probes,
resource limits, non-root containers, secrets only by reference, the topics, a pinned production image, and
settings that the services' own pydantic settings accept in production."""

from __future__ import annotations

import copy
import importlib
import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import promql_parser
import pytest
import yaml
from cloudcoil.models.prometheus_operator import v1 as monitoring_v1

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


def test_api_replicas_per_overlay(rendered: tuple[str, list[Doc]]) -> None:
    overlay, docs = rendered
    expected = {"production": 2, "demo": 1}[overlay]
    for name in SERVICES:
        assert one(docs, "Deployment", f"{name}-api")["spec"]["replicas"] == expected


def test_database_and_kafka_sizes_per_overlay(rendered: tuple[str, list[Doc]]) -> None:
    overlay, docs = rendered
    (cluster,) = find(docs, "Cluster")
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    assert cluster["spec"]["instances"] == {"production": 3, "demo": 1}[overlay]
    kafka_nodes = sum(pool["spec"]["replicas"] for pool in find(docs, "KafkaNodePool"))
    for topic in find(docs, "KafkaTopic"):
        assert topic["spec"]["replicas"] <= kafka_nodes
        assert int(topic["spec"]["config"]["min.insync.replicas"]) <= topic["spec"]["replicas"]


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
        assert doc["apiVersion"] == "kafka.strimzi.io/v1beta2"
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
CRD_KINDS = {"Cluster", "Kafka", "KafkaNodePool", "KafkaTopic", "ServiceMonitor", "PrometheusRule"}


def test_kubernetes_resources_match_the_kubernetes_schema(rendered: tuple[str, list[Doc]]) -> None:
    """Every built-in resource against the Kubernetes OpenAPI schema (kubernetes-validate ships them), strict:
    a misspelt or misplaced field fails, as `kubectl apply --validate=strict` would."""
    overlay, docs = rendered
    built_in = [d for d in docs if d["kind"] not in CRD_KINDS]
    assert {"Deployment", "HorizontalPodAutoscaler", "Service", "Job", "NetworkPolicy"} <= {d["kind"] for d in built_in}
    for doc in built_in:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{overlay}: {doc['kind']}/{doc['metadata']['name']}: {exc.message} at {list(exc.path)}")


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def test_prometheus_operator_resources_match_their_crd_schema(rendered: tuple[str, list[Doc]]) -> None:
    """ServiceMonitors and the PrometheusRule against the models generated from prometheus-operator's CRDs
    (types, patterns, required fields); the round trip drops any field the CRD does not know, so a misspelt
    field fails too."""
    overlay, docs = rendered
    models = {"ServiceMonitor": monitoring_v1.ServiceMonitor, "PrometheusRule": monitoring_v1.PrometheusRule}
    checked = [d for d in docs if d["kind"] in models]
    assert len(checked) == len(SERVICES) + 1
    for doc in checked:
        where = f"{overlay}: {doc['kind']}/{doc['metadata']['name']}"
        assert doc["apiVersion"] == "monitoring.coreos.com/v1", where
        model = models[doc["kind"]].model_validate(doc)
        assert _without_nulls(model.model_dump(by_alias=True, mode="json")) == doc, f"{where}: unknown fields"


def _operator_schemas() -> dict[tuple[str, str], Doc]:
    """(apiVersion, kind) → JSON Schema, from deploy/k8s/schemas (Strimzi, CloudNativePG)."""
    schemas = {}
    for path in (REPO / "deploy" / "k8s" / "schemas").glob("*.yaml"):
        document = yaml.safe_load(path.read_text())
        for kind, schema in document["kinds"].items():
            api_version = (
                schema.get("properties", {}).get("apiVersion")
                or document["$defs"]["header"]["properties"]["apiVersion"]
            )["const"]
            schemas[(api_version, kind)] = {"$defs": document["$defs"], **schema}
    return schemas


def test_operator_resources_match_the_shipped_crd_schemas(rendered: tuple[str, list[Doc]]) -> None:
    """Strimzi's and CloudNativePG's resources against the schemas shipped in deploy/k8s/schemas (no registry
    package carries those operators' CRDs): required fields, types, enums, and no unknown fields."""
    overlay, docs = rendered
    schemas = _operator_schemas()
    operated = [d for d in docs if d["kind"] in CRD_KINDS - {"ServiceMonitor", "PrometheusRule"}]
    assert {d["kind"] for d in operated} == {"Cluster", "Kafka", "KafkaNodePool", "KafkaTopic"}
    for doc in operated:
        schema = schemas.get((doc["apiVersion"], doc["kind"]))
        assert schema, f"no schema for {doc['apiVersion']} {doc['kind']}"
        errors = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in jsonschema.Draft202012Validator(schema).iter_errors(doc)
        ]
        assert not errors, f"{overlay}: {doc['kind']}/{doc['metadata']['name']}: {errors}"


def test_the_shipped_crd_schemas_refuse_what_the_operators_refuse() -> None:
    """The schemas are strict enough to matter: each of these mistakes is caught."""
    schemas = _operator_schemas()
    docs = {d["kind"]: d for d in render("production")}
    mistakes = [
        ("Cluster", lambda d: d["spec"]["postgresql"]["parameters"].update(max_connections=500)),  # not a string
        ("Cluster", lambda d: d["spec"].update(instance=3)),  # misspelt
        ("Kafka", lambda d: d["spec"]["kafka"]["listeners"][0].update(port=9000)),  # below Strimzi's 9092
        ("Kafka", lambda d: d["spec"]["kafka"]["listeners"][0].pop("tls")),
        ("KafkaNodePool", lambda d: d["spec"]["roles"].append("zookeeper")),
        ("KafkaTopic", lambda d: d["spec"].update(partitions=0)),
        ("KafkaTopic", lambda d: d["metadata"]["labels"].pop("strimzi.io/cluster")),
    ]
    for kind, mistake in mistakes:
        doc = copy.deepcopy(docs[kind])
        validator = jsonschema.Draft202012Validator(schemas[(doc["apiVersion"], kind)])
        assert validator.is_valid(doc), kind
        mistake(doc)
        assert not validator.is_valid(doc), f"{kind}: {mistake}"


# --- autoscaling and monitoring -------------------------------------------------------------------


def test_every_api_autoscales_from_its_replica_count_and_no_worker_does(rendered: tuple[str, list[Doc]]) -> None:
    overlay, docs = rendered
    autoscalers = find(docs, "HorizontalPodAutoscaler")
    assert {h["spec"]["scaleTargetRef"]["name"] for h in autoscalers} == {f"{s}-api" for s in SERVICES}
    for name in SERVICES:
        hpa = one(docs, "HorizontalPodAutoscaler", f"{name}-api")
        target = hpa["spec"]["scaleTargetRef"]
        assert (target["apiVersion"], target["kind"]) == ("apps/v1", "Deployment")
        replicas = one(docs, "Deployment", f"{name}-api")["spec"]["replicas"]
        assert hpa["spec"]["minReplicas"] == replicas, f"{overlay}: the HPA must not undercut the overlay's count"
        assert hpa["spec"]["maxReplicas"] > replicas
        # CPU utilisation is relative to the request: without one the HPA cannot compute it.
        (container,) = pod_spec(one(docs, "Deployment", f"{name}-api"))["containers"]
        assert "cpu" in container["resources"]["requests"]


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

# Gauges the services register with shared.ops_metrics.add_database_gauges (agreed names: README, "Operations").
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
