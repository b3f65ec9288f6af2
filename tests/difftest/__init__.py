"""Differential testing of meshinject's Go template engine against Go's own text/template."""
