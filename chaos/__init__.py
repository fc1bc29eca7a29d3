"""The chaos suite: the real operator under injected faults (`make chaos`, docs/reliability.md)."""
