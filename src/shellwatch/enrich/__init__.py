"""Enrichment: what an analyst needs beside an alert, one module per kind of context."""
