"""Artifacts derived from the catalog for the tools around safedeploy: Prometheus rules,
a Grafana dashboard, Argo Rollouts analysis templates; and OpenSLO and Sloth files imported
into it.

Each generator is a pure function from catalog models to plain data plus a renderer, so the
output can be compared in tests and reviewed in a pull request. Each import maps one
format's documents to catalog entries and refuses, naming the document and field, what it
cannot map.
"""
