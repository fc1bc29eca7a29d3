"""`kubectl rerun`, the kubectl plugin for Rerunnable (console script `kubectl-rerun`).

    kubectl rerun run NAME [--token T] [-p NAME=VALUE] [--wait [--timeout 10m] [--logs]]
                        [-o name|json|yaml]
    kubectl rerun cancel EXECUTION [--wait [--timeout 2m]] [-o name|json|yaml]
    kubectl rerun history NAME [-o name|json|yaml|wide]
    kubectl rerun status EXECUTION [-o name|json|yaml]
    kubectl rerun logs EXECUTION [-f] [-c CONTAINER] [--tail N] [--timestamps] [--prefix]
    kubectl rerun next NAME [-c 5] [-o json|yaml|wide]
    kubectl rerun suspend NAME [--until TIME] [-o name|json|yaml]
    kubectl rerun resume NAME [-o name|json|yaml]
    kubectl rerun backfill NAME --from TIME --to TIME [--parallel N] [--wait] [-o name|json|yaml]

with the global flags -n/--namespace, --kubeconfig, --context, --cluster, --user, --as,
--as-group and --request-timeout.

Modules: `cli` (arguments, exit codes), `commands` (the shell: read, write,
print), `cluster` (the API server), `log_streams` (pod logs as they stream),
and the pure parts `pod_logs` (which logs, how printed), `parsing` (durations,
times), `output` (tables, ages, JSON/YAML), `history`, `status` (one run),
`upcoming` (next fire times) and `follow` (what a look at a run means).
"""

from rerunnable.plugin.cli import main

__all__ = ["main"]
