"""`kubectl rerun`, the kubectl plugin for Rerunnable (console script `kubectl-rerun`).

    kubectl rerun run NAME [--token TOKEN] [--wait [--timeout 10m]]
    kubectl rerun history NAME [-o json|yaml]
    kubectl rerun status EXECUTION [-o json|yaml]
    kubectl rerun next NAME [-c 5] [-o json|yaml]
    kubectl rerun suspend NAME [--until TIME]
    kubectl rerun resume NAME

with the global flags -n/--namespace, --kubeconfig and --context.

Modules: `cli` (arguments, exit codes), `commands` (the shell: read, write,
print), `cluster` (the API server), and the pure parts `parsing` (durations,
times), `output` (tables, ages, JSON/YAML), `history`, `status` (one run),
`upcoming` (next fire times) and `follow` (what a look at a run means).
"""

from rerunnable.plugin.cli import main

__all__ = ["main"]
