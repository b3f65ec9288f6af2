"""Conformance runners: Istio's injection golden cases as data (``meshinject conformance``)."""
