"""Log formats: one module per format, each turning bytes into normalized ECS events."""
