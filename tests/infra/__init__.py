"""Infrastructure tests: the synthesized template, IAM, cdk-nag and cfn-lint."""

import os

# jsii (under aws_cdk) warns at start-up that Node 20 is end-of-life. Set before any test
# module of this package imports aws_cdk, since the package is imported first.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
