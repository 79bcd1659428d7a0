"""Container health check: exit 0 when the service in this container answers its probe.

The image runs any CRM service and each listens on its own port, so without
``CRM_HEALTHCHECK_PORT`` every configured service port is tried: only the one service
in the container listens, and it answers. The slim base image has no curl; this uses
the standard library only.

Usage: python /app/healthcheck.py [path]   (default path: /healthz)
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

# Each service's own port, as its definition declares it (`crm deploy generate` writes it).
# >>> crm deploy generate: ports
PORTS = {
    "contacts": 8101,
    "projections": 8105,
    "sales": 8102,
}
# <<< crm deploy generate: ports


def candidate_ports() -> list[str]:
    explicit = os.environ.get("CRM_HEALTHCHECK_PORT")
    if explicit:
        return [explicit]
    return [os.environ.get(f"CRM_{name.upper()}_PORT", str(port)) for name, port in PORTS.items()]


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "/healthz"
    for port in candidate_ports():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
                if response.status == 200:
                    return 0
        except (urllib.error.URLError, OSError):
            continue
    return 1


if __name__ == "__main__":
    sys.exit(main())
