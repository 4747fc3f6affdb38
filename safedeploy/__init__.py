"""safedeploy: a reliability control plane for services delivered by GitOps."""

__version__ = "0.1.0"
