"""The AWS path against a local AWS (moto's server on 127.0.0.1, with IAM enforced): the project's
set-up makes the roles, profiles and bucket; Ray's own bootstrap takes cluster.yaml with them; Ray's
AWS node provider launches the head as `ray up` would and, with the head role's own credentials, a
GPU worker carrying the worker profile. No SSH: nothing runs on the instances.

What moto does not evaluate, and so is checked from the policy documents instead: iam:PassRole on
RunInstances, conditions, and EC2 resource ARNs (it checks EC2 actions against "*"); it has no
policy simulator. It accepts cluster.yaml's `resolve:ssm:` image id as given, without resolving it.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from sweeps.cloud import policies

REPO = Path(__file__).resolve().parents[1]
REGION, BUCKET, ACCOUNT = "us-west-2", "ganlib-moto-bucket", "123456789012"  # moto's account


@pytest.fixture()
def aws(tmp_path, monkeypatch):
    """moto's server with IAM enforced after the first 3 requests, which make an administrator (you,
    running the set-up and `ray up`); yields that administrator's environment."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "bootstrap",
        "AWS_SECRET_ACCESS_KEY": "bootstrap",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "HOME": str(tmp_path),
    }  # Ray's bootstrap writes the key pair it makes into ~/.ssh
    server = subprocess.Popen(
        ["moto_server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={
            **os.environ,
            **env,
            "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
            "INITIAL_NO_AUTH_ACTION_COUNT": "3",
        },
    )
    try:
        import urllib.request

        import boto3

        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="bootstrap",
            aws_secret_access_key="bootstrap",
        )
        iam.create_user(UserName="admin")
        iam.attach_user_policy(UserName="admin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        env.update(AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"])
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        boto3.setup_default_session(region_name=REGION)
        from ray.autoscaler._private.aws.utils import client_cache, resource_cache

        client_cache.cache_clear(), resource_cache.cache_clear()  # Ray keeps boto clients across calls
        yield env
    finally:
        server.terminate()
        server.wait(timeout=30)


def set_up(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sweeps.cloud.aws_setup", *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def credentials_of(role: str) -> dict:
    """Keys that carry exactly the role's policy as the set-up wrote it. A user holding the same
    document, not the role itself: moto 5.2's AssumeRole fails under enforcement on a trust
    policy whose principal is a service (EC2's), with a TypeError in its principal check."""
    import boto3

    iam = boto3.client("iam")
    document = iam.get_role_policy(RoleName=role, PolicyName=role)["PolicyDocument"]
    iam.create_user(UserName=f"as-{role}")
    iam.put_user_policy(
        UserName=f"as-{role}",
        PolicyName=role,
        PolicyDocument=document if isinstance(document, str) else json.dumps(document),
    )
    key = iam.create_access_key(UserName=f"as-{role}")["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def instance(instance_id: str) -> dict:
    import boto3

    found = boto3.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][
        0
    ]
    return {**found, "Tags": {tag["Key"]: tag["Value"] for tag in found.get("Tags", [])}}


@pytest.mark.integration
def test_rays_aws_provider_launches_a_head_and_a_worker_with_the_projects_profiles(aws, tmp_path):
    import boto3
    from botocore.exceptions import ClientError
    from ray.autoscaler._private.aws.config import bootstrap_aws
    from ray.autoscaler._private.aws.node_provider import AWSNodeProvider
    from ray.autoscaler._private.util import prepare_config, validate_config
    from ray.autoscaler.tags import (
        NODE_KIND_HEAD,
        NODE_KIND_WORKER,
        TAG_RAY_NODE_KIND,
        TAG_RAY_USER_NODE_TYPE,
    )

    done = set_up(
        aws, "--bucket", BUCKET, "--region", REGION, "--write-config", str(tmp_path / "cluster.yaml")
    )
    assert done.returncode == 0, done.stderr
    iam = boto3.client("iam")
    head_role, worker_role = (f"arn:aws:iam::{ACCOUNT}:role/ganlib-{kind}" for kind in ("head", "worker"))
    for kind in ("head", "worker"):
        profile = iam.get_instance_profile(InstanceProfileName=f"ganlib-{kind}")["InstanceProfile"]
        assert [role["Arn"] for role in profile["Roles"]] == [f"arn:aws:iam::{ACCOUNT}:role/ganlib-{kind}"]
    boto3.client("s3").head_bucket(Bucket=BUCKET)
    again = set_up(
        aws, "--bucket", BUCKET, "--region", REGION
    )  # a second run changes nothing and fails nothing
    assert again.returncode == 0 and "already there" in again.stdout, again.stderr

    # `ray up`, on your machine: Ray's validation and bootstrap take the written cluster.yaml
    config = prepare_config(yaml.safe_load((tmp_path / "cluster.yaml").read_text()))
    validate_config(config)
    assert "s3://ganlib-moto-bucket/ganlib" in " ".join(config["setup_commands"])
    config = bootstrap_aws(config)
    roles = [role["RoleName"] for role in iam.list_roles()["Roles"]]
    assert "ray-autoscaler-v1" not in roles and {"ganlib-head", "ganlib-worker"} <= set(roles)
    types = config["available_node_types"]
    assert types["head"]["node_config"]["IamInstanceProfile"] == {"Name": "ganlib-head"}
    assert config["head_node"] == {}  # Ray added no profile of its own
    assert types["gpu_worker"]["node_config"]["SecurityGroupIds"]  # bootstrap made the group

    provider_config = copy.deepcopy(config["provider"])
    tags = {
        "ray-node-name": "ray-ganlib-sweeps-head",
        "ray-node-status": "uninitialized",
        "ray-launch-config": "1",
    }
    AWSNodeProvider(provider_config, config["cluster_name"]).create_node(
        types["head"]["node_config"],
        {**tags, TAG_RAY_NODE_KIND: NODE_KIND_HEAD, TAG_RAY_USER_NODE_TYPE: "head"},
        1,
    )

    # the head's autoscaler, with the head role's credentials (moto enforces its policy)
    head_keys, worker_keys = credentials_of("ganlib-head"), credentials_of("ganlib-worker")
    as_head = AWSNodeProvider({**provider_config, "aws_credentials": head_keys}, config["cluster_name"])
    as_head.create_node(
        types["gpu_worker"]["node_config"],
        {**tags, TAG_RAY_NODE_KIND: NODE_KIND_WORKER, TAG_RAY_USER_NODE_TYPE: "gpu_worker"},
        1,
    )
    (head_id,) = as_head.non_terminated_nodes({TAG_RAY_NODE_KIND: NODE_KIND_HEAD})
    (worker_id,) = as_head.non_terminated_nodes({TAG_RAY_NODE_KIND: NODE_KIND_WORKER})
    head, worker = instance(head_id), instance(worker_id)
    assert head["InstanceType"] == "m5.xlarge" and worker["InstanceType"] == "g5.2xlarge"
    assert head["IamInstanceProfile"]["Arn"].endswith(":instance-profile/ganlib-head")
    assert worker["IamInstanceProfile"]["Arn"].endswith(":instance-profile/ganlib-worker")
    for node in (head, worker):
        assert node["ImageId"] == types["head"]["node_config"]["ImageId"]
        assert node["ImageId"].startswith(
            "resolve:ssm:/aws/service/deeplearning/"
        )  # kept, not resolved, by moto
        assert node["Tags"]["ray-cluster-name"] == "ganlib-sweeps"
    assert (
        worker["Tags"][TAG_RAY_USER_NODE_TYPE] == "gpu_worker" and head["Tags"][TAG_RAY_NODE_KIND] == "head"
    )
    as_head.terminate_nodes([worker_id])  # cache_stopped_nodes: false, so terminated
    assert instance(worker_id)["State"]["Name"] in ("shutting-down", "terminated")

    # the head may do nothing else: make roles, security groups, or touch another bucket
    head_session = boto3.session.Session(region_name=REGION, **head_keys)
    for refused in (
        lambda: head_session.client("iam").create_role(RoleName="x", AssumeRolePolicyDocument="{}"),
        lambda: head_session.client("ec2").create_security_group(GroupName="x", Description="x"),
    ):
        with pytest.raises(ClientError, match="AccessDenied|not authorized"):
            refused()
    # a worker reads and writes the bucket, and launches nothing
    worker_session = boto3.session.Session(region_name=REGION, **worker_keys)
    worker_session.client("s3").put_object(Bucket=BUCKET, Key="ganlib/probe", Body=b"1")
    assert worker_session.client("s3").get_object(Bucket=BUCKET, Key="ganlib/probe")["Body"].read() == b"1"
    with pytest.raises(ClientError, match="AccessDenied|not authorized"):
        worker_session.client("ec2").run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)

    # what moto does not evaluate, from the documents as set up: PassRole on the worker role alone
    head_policy = iam.get_role_policy(RoleName="ganlib-head", PolicyName="ganlib-head")["PolicyDocument"]
    head_policy = json.loads(head_policy) if isinstance(head_policy, str) else head_policy
    assert policies.allowed_actions(head_policy, "iam:") == {"iam:PassRole": [worker_role]}
    assert head_role not in json.dumps(head_policy)
    worker_policy = iam.get_role_policy(RoleName="ganlib-worker", PolicyName="ganlib-worker")[
        "PolicyDocument"
    ]
    worker_policy = json.loads(worker_policy) if isinstance(worker_policy, str) else worker_policy
    assert (
        policies.allowed_actions(worker_policy, "iam:") == {}
        and policies.allowed_actions(worker_policy, "ec2:") == {}
    )


@pytest.mark.integration
def test_removing_the_roles_keeps_the_bucket(aws):
    import boto3

    assert set_up(aws, "--bucket", BUCKET, "--region", REGION).returncode == 0
    done = set_up(aws, "--bucket", BUCKET, "--region", REGION, "--delete")
    assert done.returncode == 0, done.stderr
    assert not {"ganlib-head", "ganlib-worker"} & {
        role["RoleName"] for role in boto3.client("iam").list_roles()["Roles"]
    }
    boto3.client("s3").head_bucket(Bucket=BUCKET)


@pytest.mark.parametrize(
    "flag, value, allowed",
    [
        ("--bucket", "My_Bucket", "an S3 bucket name"),
        ("--region", "uswest2", "an AWS region such as us-west-2"),
        ("--prefix", "ganlib/x", "up to 50 letters"),
    ],
)
def test_bad_input_to_the_setup_is_refused_in_one_line(flag, value, allowed, tmp_path):
    args = {"--bucket": "b-1", "--region": REGION, "--prefix": "ganlib", flag: value}
    done = set_up(
        {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"},
        *[item for pair in args.items() for item in pair],
        "--write-config",
        str(tmp_path / "c.yaml"),
    )
    (line,) = done.stderr.splitlines()
    assert (
        done.returncode == 2
        and line.startswith(f"error: {flag} {value!r} is not allowed: ")
        and allowed in line
    )
    assert not (tmp_path / "c.yaml").exists()


def test_the_written_cluster_yaml_names_the_bucket_region_and_profiles_and_passes_rays_validation(tmp_path):
    from ray.autoscaler._private.util import prepare_config, validate_config

    from sweeps.cloud.aws_setup import build_parser, cluster_yaml

    text = cluster_yaml(
        build_parser().parse_args(["--bucket", "lab-gans", "--region", "eu-west-1", "--prefix", "lab"])
    )
    config = prepare_config(yaml.safe_load(text))
    validate_config(config)
    types = config["available_node_types"]
    assert config["provider"]["region"] == "eu-west-1" and "YOUR-BUCKET" not in text
    assert "GANLIB_STORAGE=s3://lab-gans/ganlib" in " ".join(config["setup_commands"])
    assert types["head"]["node_config"]["IamInstanceProfile"] == {"Name": "lab-head"}
    assert {
        types[t]["node_config"]["IamInstanceProfile"]["Name"] for t in ("gpu_worker", "gpu_worker_spot")
    } == {"lab-worker"}
    assert text.count("\n#") == (REPO / "cluster.yaml").read_text().count("\n#")  # the comments kept


def test_printed_policies_pass_the_worker_role_alone_and_keep_workers_to_the_bucket():
    done = set_up({}, "--bucket", "b-1", "--region", REGION, "--print-policies")
    documents = json.loads(done.stdout)
    head, worker = documents["ganlib-head"], documents["ganlib-worker"]
    assert policies.allowed_actions(head, "iam:") == {
        "iam:PassRole": ["arn:aws:iam::ACCOUNT_ID:role/ganlib-worker"]
    }
    assert policies.allowed_actions(head, "ssm:") == {
        action: [f"arn:aws:ssm:{REGION}::parameter/aws/service/deeplearning/*"]
        for action in ("ssm:GetParameters", "ssm:GetParameter")
    }
    granted = policies.allowed_actions(worker, "s3:")
    assert set(sum(granted.values(), [])) == {"arn:aws:s3:::b-1", "arn:aws:s3:::b-1/*"}
    assert [s for s in worker["Statement"] if not s["Action"][0].startswith("s3:")] == []
