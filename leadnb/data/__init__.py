"""Shared data layer: the params file, loading tables from any source, validation, demo data."""
