"""Make the AWS roles, instance profiles and bucket a ganlib cluster needs, once per account:

    python -m sweeps.cloud.aws_setup --bucket my-ganlib-bucket --region us-west-2 \\
        --write-config my-cluster.yaml

A boto3 script rather than a CloudFormation stack: it needs nothing beyond `ganlib[cluster]` (no
AWS CLI), is safe to run again (it updates the policies in place), creates the bucket only when
missing and never deletes it (results outlive the roles), and writes the cluster.yaml to use.
`--delete` removes the roles and profiles again; `--print-policies` shows the documents and
touches nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from sweeps.cloud import policies

REPO = Path(__file__).resolve().parents[2]
# cluster.yaml names these; --prefix makes another pair (two projects in one account)
DEFAULT_PREFIX = "ganlib"
BUCKET_NAME = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
PLACEHOLDER_BUCKET = "YOUR-BUCKET"


@dataclass(frozen=True)
class Names:
    prefix: str

    @property
    def head(self) -> str:
        return f"{self.prefix}-head"

    @property
    def worker(self) -> str:
        return f"{self.prefix}-worker"


def check_arguments(args) -> None:
    if not BUCKET_NAME.match(args.bucket):
        raise ValueError(
            f"--bucket {args.bucket!r} is not allowed: an S3 bucket name, 3-63 lower-case "
            "letters, digits, dots and hyphens"
        )
    if not REGION.match(args.region):
        raise ValueError(f"--region {args.region!r} is not allowed: an AWS region such as us-west-2")
    if not re.fullmatch(r"[A-Za-z0-9+=,.@_-]{1,50}", args.prefix):
        raise ValueError(f"--prefix {args.prefix!r} is not allowed: up to 50 letters, digits or +=,.@_-")


def documents(args, account: str) -> dict[str, dict]:
    names = Names(args.prefix)
    worker_role_arn = f"arn:aws:iam::{account}:role/{names.worker}"
    return {
        names.head: policies.head_policy(
            args.bucket, worker_role_arn, args.region, args.cluster_name, args.image_repository
        ),
        names.worker: policies.worker_policy(args.bucket, args.image_repository),
    }


def ensure_role(iam, name: str, policy: dict) -> str:
    """A role EC2 can assume, its one inline policy, and an instance profile of the same name holding it."""
    try:
        iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(policies.EC2_TRUST),
            Description="ganlib Ray cluster (sweeps/cloud/aws_setup.py)",
        )
    except iam.exceptions.EntityAlreadyExistsException:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(policies.EC2_TRUST))
    # inline: the policy lives and dies with its role, and putting it again replaces it
    iam.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=json.dumps(policy))
    try:
        profile = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    except iam.exceptions.EntityAlreadyExistsException:
        profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    if name not in [role["RoleName"] for role in profile.get("Roles", [])]:
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    return profile["Arn"]


def ensure_bucket(s3, bucket: str, region: str) -> bool:
    """True when it had to be made. Private, and kept by --delete."""
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **location)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    return True


def delete_role(iam, name: str) -> None:
    try:
        iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=name)
    except iam.exceptions.NoSuchEntityException:
        pass
    for call, kwargs in (
        (iam.delete_instance_profile, {"InstanceProfileName": name}),
        (iam.delete_role_policy, {"RoleName": name, "PolicyName": name}),
        (iam.delete_role, {"RoleName": name}),
    ):
        try:
            call(**kwargs)
        except iam.exceptions.NoSuchEntityException:
            pass


def cluster_yaml(args, source: Path = REPO / "cluster.yaml") -> str:
    """cluster.yaml with this bucket, region and these profiles filled in, comments kept."""
    text = source.read_text()
    names, default = Names(args.prefix), Names(DEFAULT_PREFIX)
    text = text.replace(f"s3://{PLACEHOLDER_BUCKET}/", f"s3://{args.bucket}/")
    text = re.sub(r"(?m)^(\s*region:) \S+", rf"\1 {args.region}", text, count=1)
    text = re.sub(rf"(?m)^(\s*Name:) {re.escape(default.head)}$", rf"\1 {names.head}", text)
    return re.sub(rf"(?m)^(\s*Name:) {re.escape(default.worker)}$", rf"\1 {names.worker}", text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sweeps.cloud.aws_setup", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--bucket", required=True, help="the sweep's bucket (made if missing): trials, checkpoints, exports"
    )
    parser.add_argument("--region", required=True, help="where the cluster runs, e.g. us-west-2")
    parser.add_argument(
        "--prefix",
        default=DEFAULT_PREFIX,
        help="names PREFIX-head and PREFIX-worker (default: ganlib, what cluster.yaml names)",
    )
    parser.add_argument(
        "--cluster-name",
        default="ganlib-sweeps",
        help="cluster.yaml's cluster_name: the head may stop or end only instances tagged with it",
    )
    parser.add_argument(
        "--image-repository",
        default=None,
        metavar="ECR_ARN",
        help="a private ECR repository holding the project image: both roles may pull from it",
    )
    parser.add_argument(
        "--write-config",
        type=Path,
        default=None,
        metavar="YAML",
        help="write a copy of cluster.yaml with the bucket, region and profiles filled in",
    )
    parser.add_argument(
        "--print-policies", action="store_true", help="print the policy documents and change nothing"
    )
    parser.add_argument(
        "--delete", action="store_true", help="remove the two roles and profiles (the bucket stays)"
    )
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        check_arguments(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.print_policies:
        print(json.dumps(documents(args, "ACCOUNT_ID"), indent=2))
        return 0
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.session.Session(region_name=args.region)
    iam, names = session.client("iam"), Names(args.prefix)
    try:
        if args.delete:
            for name in (names.head, names.worker):
                delete_role(iam, name)
            print(
                f"removed roles and instance profiles {names.head}, {names.worker}; bucket {args.bucket} kept"
            )
            return 0
        account = session.client("sts").get_caller_identity()["Account"]
        made = ensure_bucket(session.client("s3"), args.bucket, args.region)
        arns = {name: ensure_role(iam, name, policy) for name, policy in documents(args, account).items()}
    except (BotoCoreError, ClientError) as error:
        print(f"error: AWS refused the set-up: {error}", file=sys.stderr)
        return 1
    print(f"bucket s3://{args.bucket} ({'made' if made else 'already there'})")
    for name, arn in arns.items():
        print(f"role and instance profile {name}: {arn}")
    print("\ncluster.yaml lines (EC2 may take a minute to see new profiles):")
    print(f"  head node_config:        IamInstanceProfile: {{Name: {names.head}}}")
    print(f"  gpu worker node_configs: IamInstanceProfile: {{Name: {names.worker}}}")
    print(f"  setup_commands:          GANLIB_STORAGE=s3://{args.bucket}/ganlib")
    if args.write_config:
        args.write_config.write_text(cluster_yaml(args))
        print(f"wrote {args.write_config}: ray up {args.write_config}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
