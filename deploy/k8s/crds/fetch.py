"""Fetch the operators' own CustomResourceDefinitions into deploy/k8s/crds/<operator>-<version>/.

The suite validates every custom resource the manifests render against these files
(tests/unit/deploy/test_kustomize.py), offline. They come from the package registries, never copied by hand:

- CloudNativePG and prometheus-operator: the Go module proxy serves each release's source tree as a module zip
  (`go mod download -json <module>@<tag>`); the CRDs are the release's `config/crd/bases/*.yaml` and
  `example/prometheus-operator-crd/*.yaml`, copied byte for byte.
- Strimzi publishes no CRD files to a registry; its release build generates them from the model classes of
  `io.strimzi:api` with `io.strimzi:crd-generator` (packaging/install/cluster-operator/04x-Crd-*.yaml). This
  script resolves the release's `io.strimzi:api` jar from Maven Central (`mvn dependency:copy-dependencies`) with
  the generator (1.2.0, the first Maven Central serves, for every release) and runs it on that release's model
  classes with the arguments of that release's own build (its api/pom.xml, inside the jar). The generator is
  compiled for Java 21 or later: set JAVA to such a `java` (default: the newest 21 or 25 JDK under /usr/lib/jvm).

Run `python deploy/k8s/crds/fetch.py` to refresh every pinned version, or pass `operator-version` directory names
(e.g. `strimzi-1.2.0`). Needs `go`, `mvn` and `java`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from xml.etree import ElementTree

HERE = Path(__file__).resolve().parent

# Oldest and newest release of each operator the manifests are checked against (README, "Production").
# Strimzi: 0.49 is the first to serve kafka.strimzi.io/v1, 1.0 the first to serve only v1.
STRIMZI = ("0.49.0", "1.2.0")
STRIMZI_GENERATOR = "1.2.0"  # the first io.strimzi:crd-generator Maven Central serves; it reads older models too
STRIMZI_KINDS = {
    "io.strimzi.api.kafka.model.kafka.Kafka": "kafka.yaml",
    "io.strimzi.api.kafka.model.nodepool.KafkaNodePool": "kafkanodepool.yaml",
    "io.strimzi.api.kafka.model.topic.KafkaTopic": "kafkatopic.yaml",
}
GO_MODULES = {
    "cloudnative-pg": (
        "github.com/cloudnative-pg/cloudnative-pg",
        ("1.25.0", "1.30.0"),
        {"clusters.yaml": "config/crd/bases/postgresql.cnpg.io_clusters.yaml"},
    ),
    "prometheus-operator": (
        "github.com/prometheus-operator/prometheus-operator",
        ("0.85.0", "0.93.0"),
        {
            "servicemonitors.yaml": "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
            "prometheusrules.yaml": "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml",
        },
    ),
}

POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local</groupId><artifactId>strimzi-crds</artifactId><version>0</version>
  <dependencies>
    <dependency><groupId>io.strimzi</groupId><artifactId>api</artifactId><version>{api}</version></dependency>
    <dependency><groupId>io.strimzi</groupId><artifactId>crd-generator</artifactId><version>{generator}</version>
      <exclusions><exclusion><groupId>io.strimzi</groupId><artifactId>api</artifactId></exclusion></exclusions>
    </dependency>
  </dependencies>
</project>
"""
MAVEN = "{http://maven.apache.org/POM/4.0.0}"


def java() -> str:
    if os.environ.get("JAVA"):
        return os.environ["JAVA"]
    jdks = sorted(Path("/usr/lib/jvm").glob("*/bin/java"), key=lambda p: p.parent.parent.name)
    newest = [p for p in jdks if any(f"-{n}" in p.parent.parent.name for n in ("21", "25"))]
    return str(newest[-1]) if newest else "java"


def release_generator_runs(api_jar: Path) -> list[tuple[list[str], list[str]]]:
    """The CrdGenerator runs of the release's own build that write the installed CRDs, in build order: for each,
    its options and the model classes it generates (api/pom.xml, executions `generate-crd-co-install-*`)."""
    with zipfile.ZipFile(api_jar) as jar:
        pom = ElementTree.fromstring(jar.read("META-INF/maven/io.strimzi/api/pom.xml"))
    runs = []
    for execution in pom.iter(f"{MAVEN}execution"):
        if not execution.findtext(f"{MAVEN}id", "").startswith("generate-crd-co-install"):
            continue
        args = [a.text or "" for a in execution.iter(f"{MAVEN}argument")]
        args = args[args.index("io.strimzi.crdgenerator.CrdGenerator") + 1 :]
        options = [a for a in args if "=" not in a or not a.startswith("io.strimzi.")]
        classes = [a.split("=", 1)[0] for a in args if a.startswith("io.strimzi.") and "=" in a]
        runs.append((options, classes))
    return runs


def fetch_strimzi(version: str, target: Path) -> None:
    with tempfile.TemporaryDirectory() as work:
        Path(work, "pom.xml").write_text(POM.format(api=version, generator=STRIMZI_GENERATOR))
        subprocess.run(
            ["mvn", "-q", "-f", f"{work}/pom.xml", "dependency:copy-dependencies", f"-DoutputDirectory={work}/lib"],
            check=True,
        )
        for options, classes in release_generator_runs(Path(work, "lib", f"api-{version}.jar")):
            outputs = [f"{cls}={target / STRIMZI_KINDS[cls]}" for cls in classes if cls in STRIMZI_KINDS]
            if outputs:
                subprocess.run(
                    [java(), "-cp", f"{work}/lib/*", "io.strimzi.crdgenerator.CrdGenerator", *options, *outputs],
                    check=True,
                )


def fetch_go_module(module: str, version: str, files: dict[str, str], target: Path) -> None:
    with tempfile.TemporaryDirectory() as gopath:
        result = subprocess.run(
            ["go", "mod", "download", "-json", f"{module}@v{version}"],
            env={**os.environ, "GOPATH": gopath, "GOFLAGS": "-modcacherw"},
            capture_output=True,
            text=True,
            check=True,
        )
        info = json.loads(result.stdout)
        prefix = f"{module}@v{version}/"
        with zipfile.ZipFile(info["Zip"]) as archive:
            for name, path in files.items():
                (target / name).write_bytes(archive.read(prefix + path))


def main(selected: list[str]) -> None:
    wanted = [f"strimzi-{v}" for v in STRIMZI] + [f"{op}-{v}" for op, (_, vs, _) in GO_MODULES.items() for v in vs]
    for name in selected or wanted:
        if name not in wanted:
            sys.exit(f"unknown {name}: one of {', '.join(wanted)}")
        operator, version = name.rsplit("-", 1)
        target = HERE / name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        if operator == "strimzi":
            fetch_strimzi(version, target)
        else:
            module, _, files = GO_MODULES[operator]
            fetch_go_module(module, version, files, target)
        print(f"{name}: {', '.join(sorted(p.name for p in target.iterdir()))}")


if __name__ == "__main__":
    main(sys.argv[1:])
