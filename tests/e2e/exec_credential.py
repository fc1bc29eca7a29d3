#!/usr/bin/env python3
"""An exec credential plugin for the e2e tests, as EKS's, GKE's and AKS's kubeconfigs use one.

Prints an ExecCredential carrying the local cluster's admin client certificate,
valid for EXPIRES seconds, and appends a line to CALLS each time it runs (so a
test sees who ran it and how often).

    exec_credential.py CERT KEY CALLS [EXPIRES]
"""

import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path


def main() -> None:
    cert, key, calls = (Path(a) for a in sys.argv[1:4])
    expires = float(sys.argv[4]) if len(sys.argv) > 4 else None
    info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
    with calls.open("a") as f:
        f.write(f"{os.getppid()}\n")
    status = {"clientCertificateData": cert.read_text(), "clientKeyData": key.read_text()}
    if expires is not None:
        moment = datetime.now(UTC) + timedelta(seconds=expires)
        status["expirationTimestamp"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    print(
        json.dumps({"apiVersion": info["apiVersion"], "kind": "ExecCredential", "status": status})
    )


if __name__ == "__main__":
    main()
