"""Where an HTTPS endpoint of the operator listens, and the certificate folder it serves from
(the webhooks' and the reports' alike: the chart mounts one Secret for both)."""

from dataclasses import dataclass
from pathlib import Path

__all__ = ["ServingOptions"]


@dataclass(frozen=True)
class ServingOptions:
    port: int
    cert_dir: Path
    addr: str = "0.0.0.0"

    @property
    def certfile(self) -> Path:
        return self.cert_dir / "tls.crt"

    @property
    def keyfile(self) -> Path:
        return self.cert_dir / "tls.key"

    @property
    def cafile(self) -> Path:
        return self.cert_dir / "ca.crt"
