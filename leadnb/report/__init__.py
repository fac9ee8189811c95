"""Shared report layer: the notebook context, tables and charts, and the HTML pages."""
