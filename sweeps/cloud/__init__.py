"""The cloud side of a sweep: the AWS roles cluster.yaml names, and exports kept in the bucket."""
