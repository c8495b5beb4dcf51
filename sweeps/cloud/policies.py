"""The IAM policy documents for a ganlib cluster on AWS, as plain dictionaries.

Two roles, least privilege: the head runs Ray's autoscaler (it launches and ends the GPU workers)
and Tune's driver; the workers run trials, which only read and write the sweep's bucket. The
head may hand exactly one role to the instances it launches, the workers' (iam:PassRole): with
Ray's default profile on every node (EC2 and S3 full access, no PassRole) worker launches fail.
"""

from __future__ import annotations

EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}

# What Ray 2.60's AWSNodeProvider calls from the head (ray/autoscaler/_private/aws/node_provider.py);
# the head's autoscaler never bootstraps (`ray up` on your machine does: subnets, security group,
# key pair), so nothing here creates network or IAM resources. Describe calls take no resource.
AUTOSCALER_DESCRIBE = ["ec2:DescribeInstances", "ec2:DescribeInstanceTypes"]
# Tags are set at launch (RunInstances' TagSpecifications), which needs CreateTags as well.
AUTOSCALER_LAUNCH = ["ec2:RunInstances", "ec2:CreateTags"]
# Stopped nodes are reused when cache_stopped_nodes is on; only its own cluster's (Ray's tag).
AUTOSCALER_END = ["ec2:TerminateInstances", "ec2:StopInstances", "ec2:StartInstances"]

# AWS's public deep-learning AMI parameters (cluster.yaml's `resolve:ssm:` image): EC2 resolves
# them with the launching identity, the head's for every worker.
DLAMI_PARAMETERS = "arn:aws:ssm:{region}::parameter/aws/service/deeplearning/*"


def bucket_arns(bucket: str) -> tuple[str, str]:
    return f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"


def bucket_statements(bucket: str) -> list[dict]:
    """Read, write and list one bucket: trials, checkpoints, the searchers' state and the exports."""
    whole, objects = bucket_arns(bucket)
    return [
        {
            "Sid": "ListTheSweepBucket",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": whole,
        },
        {
            "Sid": "ReadWriteTheSweepBucket",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            "Resource": objects,
        },
    ]


def image_pull_statements(repository_arn: str | None) -> list[dict]:
    """Pulling a private project image from ECR (none for a public image)."""
    if not repository_arn:
        return []
    return [
        {"Sid": "LogInToEcr", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Sid": "PullTheProjectImage",
            "Effect": "Allow",
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            "Resource": repository_arn,
        },
    ]


def worker_policy(bucket: str, repository_arn: str | None = None) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": bucket_statements(bucket) + image_pull_statements(repository_arn),
    }


def head_policy(
    bucket: str, worker_role_arn: str, region: str, cluster_name: str, repository_arn: str | None = None
) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AutoscalerLooksUp", "Effect": "Allow", "Action": AUTOSCALER_DESCRIBE, "Resource": "*"},
            {"Sid": "AutoscalerLaunches", "Effect": "Allow", "Action": AUTOSCALER_LAUNCH, "Resource": "*"},
            {
                "Sid": "AutoscalerEndsItsOwnNodes",
                "Effect": "Allow",
                "Action": AUTOSCALER_END,
                "Resource": "*",
                "Condition": {"StringEquals": {"ec2:ResourceTag/ray-cluster-name": cluster_name}},
            },
            {
                "Sid": "PassOnlyTheWorkerRole",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": worker_role_arn,
                "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
            },
            {
                "Sid": "ResolveTheDeepLearningImage",
                "Effect": "Allow",
                "Action": ["ssm:GetParameters", "ssm:GetParameter"],
                "Resource": DLAMI_PARAMETERS.format(region=region),
            },
            *bucket_statements(bucket),
            *image_pull_statements(repository_arn),
        ],
    }


def allowed_actions(policy: dict, action_prefix: str) -> dict[str, list]:
    """Every Allow statement's resources for the actions that start with a prefix (e.g. iam:): what
    a reader, or a test, checks a document grants. Wildcard actions count as matching."""
    granted: dict[str, list] = {}
    for statement in policy["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        for action in actions:
            service = action.split(":")[0]
            if (
                action == "*"
                or action.startswith(action_prefix)
                or (action.endswith(":*") and action_prefix.startswith(service + ":"))
            ):
                granted.setdefault(action, []).extend(resources)
    return granted
