"""Object store backends: local disk (the default) and S3 through boto3."""
