"""The local AWS account: moto plus our fills for what moto lacks. Not deployed to Lambda."""
