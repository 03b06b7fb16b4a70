"""jobwarden: find stuck or over-budget jobs in AWS build and batch services and stop them."""

__version__ = "0.1.0"
