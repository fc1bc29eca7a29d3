"""The results as a plain-text table (also pasted into bench/README.md)."""

from typing import Any

from bench.targets import Target

__all__ = ["table", "targets_table"]

VERDICT = {True: "met", False: "**missed**", None: "not measured"}


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}{unit}"
    return f"{value}{unit}"


def _secs(ms: Any) -> str:
    return "-" if ms is None else f"{ms / 1000:.2f} s"


def _scheduled(r: dict[str, Any]) -> str:
    if r["all_scheduled_s"] is not None:
        return f"{r['all_scheduled_s']:.1f} s"
    return f"> {r['limit_s']:g} s ({r['scheduled_within_limit']}/{r['n']} by then)"


def _writes(what: str, r: dict[str, Any]) -> str:
    """The operator's writes per run, as the row measured them."""
    per_run = r.get("operator_writes_per_run")
    if not per_run:
        return ""
    parts = ", ".join(f"{kind} {n:g}" for kind, n in per_run.items() if kind != "all")
    return f"{what}: the operator's writes per run {per_run['all']:g} ({parts})"


def _figure(value: float | None, unit: str, *, above: bool = False) -> str:
    if value is None:
        return "-"
    number = f"{value:.0f}" if unit == "MiB" or float(value).is_integer() else f"{value:.2f}"
    return f"{'> ' if above else ''}{number}{' ' + unit if unit else ''}"


def targets_table(targets: list[Target]) -> str:
    lines = ["Targets", "", "| target | figure | limit | |", "|---|---|---|---|"]
    for t in targets:
        figure = _figure(t.value, t.unit, above=t.at_least)
        lines.append(f"| {t.name} | {figure} | ≤ {_figure(t.limit, t.unit)} | {VERDICT[t.met]} |")
    return "\n".join([*lines, ""])


def table(results: dict[str, Any]) -> str:
    lines: list[str] = []
    fan = results.get("fanout") or []
    if fan:
        lines += [
            "Scheduled fan-out (every minute, Jobs with suspend: "
            f"{str(results['suspend_jobs']).lower()}; lag = Job first seen by the watch - slot)",
            "",
            "| N | controller-manager QPS/burst | side | p50 | p99 | max | missed | late | dup "
            "| p99 ratio (Rerunnable / CronJob) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in fan:
            qps = f"{r['controller_manager_qps']:g}/{r['controller_manager_burst']}"
            qps += f" ({r['qps_label']})"
            sides = [("rerunnable", "Rerunnable")]
            if r.get("cronjob"):
                sides.append(("cronjob", "CronJob"))
            if r.get("floor"):
                sides.append(("floor", "bare client, Jobs only (floor)"))
            for side, label in sides:
                s = r[side]
                ratio = (
                    f"{_fmt(r['p99_ratio'])} (vs floor {_fmt(r.get('p99_vs_floor'))})"
                    if side == "rerunnable"
                    else ""
                )
                lines.append(
                    f"| {r['n']} | {qps} | {label} | {_secs(s['p50_ms'])} | {_secs(s['p99_ms'])} "
                    f"| {_secs(s['max_ms'])} | {s['missed']}/{s['runs_expected']} | {s['late']} "
                    f"| {s['duplicates']} | {ratio} |"
                )
        lines.append("")
        lines += [_writes(f"N={r['n']}, {r['qps_label']} QPS", r) for r in fan]
        lines.append("")
    burst = results.get("burst") or []
    if burst:
        lines += [
            "Manual burst (annotate N RerunnableJobs at once; time until all N Jobs exist)",
            "",
            "| N | concurrency | floor (bare client) | Rerunnable | ratio | annotating client "
            "| per run (annotation accepted → Job seen) p50 / p99 |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in burst:
            lines.append(
                f"| {r['n']} | {r['concurrency']} | {r['floor_s']:.2f} s "
                f"| {r['rerunnable_s']:.2f} s | {r['ratio']:.2f} | {r['annotate_s']:.2f} s "
                f"| {_secs(r.get('per_run_p50_ms'))} / {_secs(r.get('per_run_p99_ms'))} |"
            )
        lines.append("")
        lines += [_writes(f"burst N={r['n']}", r) for r in burst]
        lines.append("")
    foot = results.get("footprint") or []
    if foot:
        lines += [
            "Footprint (idle RerunnableJobs, hourly schedules)",
            "",
            "| N | RSS | peak RSS | idle CPU (% of a core) | start → all scheduled "
            "| CPU s to get there | the same status writes by a bare client |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in foot:
            floor = r.get("status_floor_s")
            lines.append(
                f"| {r['n']} | {r['rss_mib']:.0f} MiB | {r['peak_rss_mib']:.0f} MiB "
                f"| {r['idle_cpu_percent']:.2f} % | {_scheduled(r)} "
                f"| {r['start_cpu_s']:.1f} s | {'-' if floor is None else f'{floor:.1f} s'} |"
            )
        lines.append("")
    alien = results.get("foreign") or []
    if alien:
        lines += [
            "Foreign load (Jobs the operator did not make, in its namespace; a fresh operator "
            "each time, figures over the same window from its start)",
            "",
            "| foreign Jobs | own jobs (idle) | window | CPU without / with | ratio "
            "| RSS without / with | ratio |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in alien:
            w, f = r["without"], r["with"]
            lines.append(
                f"| {r['jobs']} | {r['rjobs']} | {r['window_s']:g} s "
                f"| {w['cpu_s']:.1f} s / {f['cpu_s']:.1f} s | {_fmt(r['cpu_ratio'])} "
                f"| {w['rss_mib']:.0f} / {f['rss_mib']:.0f} MiB | {_fmt(r['rss_ratio'])} |"
            )
        lines.append("")
    rep = results.get("reports") or []
    if rep:
        lines += [
            "Reports (N running runs, each POSTing progress at a steady rate over HTTPS)",
            "",
            "| runs | offered /s | accepted /s | refused | answer p50 | answer p99 "
            "| status writes per report | operator CPU |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in rep:
            lines.append(
                f"| {r['runs']} | {r['offered_per_s']:g} | {r['accepted_per_s']:g} "
                f"| {r['refused']} | {r['p50_ms']:g} ms | {r['p99_ms']:g} ms "
                f"| {_fmt(r['writes_per_report'])} | {r['operator_cpu_percent']:g} % |"
            )
        lines.append("")
    return "\n".join(lines)
