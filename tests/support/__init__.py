"""Test helpers that build fixture files (the EVTX writer)."""
