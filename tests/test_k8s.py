"""k8s/rayjob.yaml against the RayJob CRD of the KubeRay release kept in k8s/schema/ (SOURCE.md says
which), as strictly as `kubectl apply --validate=strict` would check it, with no cluster.

The CRD's OpenAPI schema is structural: it never says additionalProperties: false, so JSON Schema
alone passes a misspelled field (Kubernetes would silently prune it). unknown_fields() adds the
server's strict field check; CEL rules (x-kubernetes-validations) are not evaluated, and none of them
is on a field the manifest sets.
"""

from __future__ import annotations

import copy
import functools
import shlex
from pathlib import Path

import jsonschema
import pytest
import yaml

K8S = Path(__file__).resolve().parents[1] / "k8s"


class UniqueKeyLoader(yaml.SafeLoader):
    """kubectl rejects a key given twice; PyYAML would keep the last one without a word."""

    def construct_mapping(self, node, deep=False):
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        if len(keys) != len(set(map(str, keys))):
            raise yaml.constructor.ConstructorError(None, None, "a key given twice", node.start_mark)
        return super().construct_mapping(node, deep)


def manifest() -> dict:
    return yaml.load((K8S / "rayjob.yaml").read_text(), Loader=UniqueKeyLoader)


@functools.cache
def crd() -> dict:
    with open(K8S / "schema" / "ray.io_rayjobs.yaml") as file:  # 1.4 MB: libyaml's loader when there
        return yaml.load(file, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def openapi_schema() -> dict:
    return next(v for v in crd()["spec"]["versions"] if v["name"] == "v1")["schema"]["openAPIV3Schema"]


def as_json_schema(node):
    """Kubernetes' extensions dropped; int-or-string (cpu: "4", memory: 15Gi, a GPU count 1) as anyOf."""
    if isinstance(node, list):
        return [as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {
        key: as_json_schema(value)
        for key, value in node.items()
        if not key.startswith("x-kubernetes-") and key != "properties"
    }
    if "properties" in node:  # field names, not keywords: none dropped
        out["properties"] = {name: as_json_schema(sub) for name, sub in node["properties"].items()}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    return out


def unknown_fields(value, schema: dict, path: str = ""):
    """Keys the schema has no place for: not among its properties, no additionalProperties schema, no
    x-kubernetes-preserve-unknown-fields (the API server would prune them; strict validation refuses)."""
    if isinstance(value, dict) and not schema.get("x-kubernetes-preserve-unknown-fields"):
        extra = schema.get("additionalProperties")
        for key, sub in value.items():
            if key in schema.get("properties", {}):
                yield from unknown_fields(sub, schema["properties"][key], f"{path}.{key}")
            elif isinstance(extra, dict):
                yield from unknown_fields(sub, extra, f"{path}.{key}")
            elif extra is not True:
                yield f"{path}.{key}"
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            yield from unknown_fields(item, schema["items"], f"{path}[{index}]")


@functools.cache
def validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(as_json_schema(openapi_schema()))


def problems(document: dict) -> list[str]:
    schema = openapi_schema()
    found = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(document)]
    # metadata is the API server's ObjectMeta, checked outside the CRD (whose schema is a bare object)
    outside_metadata = {key: value for key, value in document.items() if key != "metadata"}
    return found + [f"unknown field {path}" for path in unknown_fields(outside_metadata, schema)]


def test_the_manifest_is_a_valid_rayjob_for_the_stored_crd():
    document = manifest()
    assert document["apiVersion"] == f"{crd()['spec']['group']}/v1"
    assert document["kind"] == crd()["spec"]["names"]["kind"]
    found = problems(document)
    assert not found, "\n".join(found)


def test_the_job_runs_the_bare_sweep_command_in_the_project():
    entrypoint = manifest()["spec"]["entrypoint"]
    # KubeRay's submitter runs `bash -ce "... ray job submit ... -- ENTRYPOINT ; fi ; ray job logs ..."`:
    # a control operator outside quotes would end `ray job submit` there and run the rest in the submitter.
    words = list(shlex.shlex(entrypoint, posix=True, punctuation_chars=True))
    assert not [word for word in words if set(word) <= set("&;|()<>")], entrypoint
    job = shlex.split(shlex.join(words))  # Ray 2.60's `ray job submit` joins its arguments with shlex.join
    command = job[2] if job[:2] == ["bash", "-c"] and len(job) == 3 else shlex.join(job)
    steps = [shlex.split(step) for step in command.split("&&")]
    assert steps[-1] == ["python", "sweeps/tune_all.py"]
    assert steps[:-1] in ([], [["cd", "/home/ray/ganlib"]])


def test_gpu_workers_come_on_demand_and_every_node_names_the_gpu_preset_and_a_bucket():
    cluster = manifest()["spec"]["rayClusterSpec"]
    assert cluster["enableInTreeAutoscaling"] is True
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    [workers] = cluster["workerGroupSpecs"]
    assert (workers["minReplicas"], workers["maxReplicas"]) == (0, 4)
    [worker] = workers["template"]["spec"]["containers"]
    assert int(worker["resources"]["limits"]["nvidia.com/gpu"]) == 1
    assert "nvidia.com/gpu" in [t["key"] for t in workers["template"]["spec"]["tolerations"]]
    # four trials a GPU fit the pod's CPUs and the memory Ray leaves beside its object store
    from sweeps.search import presets

    gpu, limits = presets.get("gpu"), worker["resources"]["limits"]
    assert int(limits["cpu"]) >= gpu.cpus_per_trial / gpu.gpus_per_trial
    store_mib = int(workers["rayStartParams"]["object-store-memory"]) / 2**20
    assert (
        int(limits["memory"].removesuffix("Gi")) * 1024 - store_mib
        >= gpu.memory_per_trial_mb / gpu.gpus_per_trial
    )
    for container in [*cluster["headGroupSpec"]["template"]["spec"]["containers"], worker]:
        env = {variable["name"]: variable["value"] for variable in container["env"]}
        assert env["GANLIB_PRESET"] == "gpu" and env["GANLIB_STORAGE"].startswith("s3://")
        assert env["GANLIB_RAY_ADDRESS"] == "auto" and env["GANLIB_MNIST"] == "/home/ray/data/mnist.npz"


def misspelled(document):
    document["spec"]["shutdownAfterJobFinish"] = document["spec"].pop("shutdownAfterJobFinishes", True)


def wrong_type(document):
    document["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replicas"] = "two"


def misspelled_deep(document):
    document["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["template"]["spec"]["toleration"] = []


def not_a_quantity(document):
    document["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["resources"][
        "limits"
    ]["memory"] = "8 GB"


@pytest.mark.parametrize(
    "breakage, expected",
    [
        (misspelled, "unknown field .spec.shutdownAfterJobFinish"),
        (wrong_type, "spec.rayClusterSpec.workerGroupSpecs.0.replicas: 'two' is not of type 'integer'"),
        (misspelled_deep, "unknown field .spec.rayClusterSpec.workerGroupSpecs[0].template.spec.toleration"),
        (not_a_quantity, "does not match"),
    ],
)
def test_the_validator_rejects_a_broken_copy(breakage, expected):
    document = copy.deepcopy(manifest())
    breakage(document)
    assert any(expected in problem for problem in problems(document)), problems(document)


def test_a_key_given_twice_is_refused():
    with pytest.raises(yaml.constructor.ConstructorError, match="twice"):
        yaml.load("spec:\n  backoffLimit: 0\n  backoffLimit: 1\n", Loader=UniqueKeyLoader)
