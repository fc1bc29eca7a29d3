"""The operator's /metrics as the tests read it: every sample, parsed by prometheus_client's
parser of the text format (the one Prometheus' own Python client ships)."""

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

__all__ = ["Series", "sample", "scrape"]

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]  # (name, labels) -> value


def scrape(url: str) -> Series:
    """Every sample of the /metrics at `url`."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {
        (each.name, frozenset(each.labels.items())): each.value
        for family in text_string_to_metric_families(text)
        for each in family.samples
    }


def sample(series: Series, name: str, **labels: str) -> float:
    """The value of the sample `name` with exactly `labels` (0 if there is none)."""
    return series.get((name, frozenset(labels.items())), 0.0)
