"""Decoding and deobfuscation of command lines: peel encodings and shell tricks by rules, never by running.

``model`` holds the limits, the budget and the layer types; ``engine`` peels layers with a list of
decoders; each other module is one family of decoders (``encodings``: base64, hex, escapes, compression;
``powershell``, ``cmd``, ``bash``: the string tricks of each shell) and exposes them as ``STEPS``.
"""
