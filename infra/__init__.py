"""The jobwarden CDK app: one stack (`stack.py`) built from one construct per concern."""
