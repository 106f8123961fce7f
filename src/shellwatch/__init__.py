"""shellwatch: command-shell monitoring for SOC teams (MITRE ATT&CK T1059)."""

__version__ = "0.1.0"
