"""Shell completion of `kubectl rerun`, kubectl's way (kubectl 1.26+).

On <TAB> after `kubectl rerun`, kubectl runs the executable `kubectl_complete-rerun` found on
PATH (console script `main`) with the words after the plugin's name, the last one being the
word completed ("" for a new one), in kubectl's own environment. It reads one candidate a
line (`candidate<TAB>description`) and a last line `:<directive>`, Cobra's
ShellCompDirective; a non-zero exit discards the output. kubectl's flags given before the
plugin's name (`kubectl -n foo rerun ...`) are refused by kubectl and never passed: the
namespace, --kubeconfig and --context are read from the words after `rerun`, the
kubeconfig's files also from $KUBECONFIG.

`complete` is pure: it reads the argparse parser (`cli.build_parser()`) for the commands,
flags, choices and positionals, and asks a `Lister` for the names of objects; `ApiLister`
asks the API server (within `DEADLINE` seconds, [] if it cannot answer) and reads the
kubeconfig.
"""

import argparse
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import yaml

from rerunnable.kube.config import kubeconfig_paths
from rerunnable.kube.resources import EXECUTIONS, RERUNNABLE_JOBS, Resource
from rerunnable.plugin.cli import build_parser
from rerunnable.plugin.cluster import connect

__all__ = [
    "DEFAULT",
    "NO_FILE_COMP",
    "ApiLister",
    "Completion",
    "Lister",
    "Target",
    "complete",
    "main",
]

# Cobra's ShellCompDirective bits.
DEFAULT = 0  # the shell may complete file names
NO_FILE_COMP = 4

DEADLINE = 3.0  # seconds for the API server's answer during completion

Kind = Literal["rerunnablejobs", "executions", "namespaces", "contexts", "clusters", "users"]

NAMESPACES = Resource("", "v1", "namespaces", "Namespace")

# What a positional's metavar names, and what a flag's value (by its dest) names.
_POSITIONAL_KINDS: dict[str, Kind] = {"NAME": "rerunnablejobs", "EXECUTION": "executions"}
_VALUE_KINDS: dict[str, Kind] = {
    "namespace": "namespaces",
    "context": "contexts",
    "cluster": "clusters",
    "user": "users",
}
_FILE_VALUES = {"kubeconfig"}


@dataclass(frozen=True)
class Target:
    """Where to look, as the words given so far say (None: the kubeconfig's default)."""

    kubeconfig: str | None = None
    context: str | None = None
    cluster: str | None = None
    user: str | None = None
    namespace: str | None = None


class Lister(Protocol):
    def names(self, kind: Kind, target: Target) -> list[str]:
        """The names of the objects of `kind` (in target's namespace for those namespaced);
        [] if they cannot be read."""
        ...


@dataclass(frozen=True)
class Completion:
    candidates: list[tuple[str, str]] = field(default_factory=list)  # (word, description)
    directive: int = NO_FILE_COMP

    def lines(self) -> list[str]:
        """The output kubectl reads: `word<TAB>description` or `word`, then `:directive`."""
        out = [f"{word}\t{help}" if help else word for word, help in self.candidates]
        return [*out, f":{self.directive}"]


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:  # type: ignore[type-arg]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {s: a for a in parser._actions for s in a.option_strings}


def _takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0


@dataclass
class _State:
    parser: argparse.ArgumentParser
    command: str | None = None
    positionals: int = 0
    seen: list[argparse.Action] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)  # dest -> the last value given


def _flag_value(
    word: str, options: dict[str, argparse.Action]
) -> tuple[argparse.Action | None, str | None]:
    """The option a word names and the value it carries itself (--flag=value, -nvalue)."""
    if word.startswith("--") and "=" in word:
        name, _, value = word.partition("=")
        return options.get(name), value
    if word in options:
        return options[word], None
    if not word.startswith("--") and len(word) > 2 and word[:2] in options:
        action = options[word[:2]]
        if _takes_value(action):
            return action, word[2:]
    return None, None


def complete(words: Sequence[str], parser: argparse.ArgumentParser, lister: Lister) -> Completion:
    """The completion of the last of `words` (those after `kubectl rerun`)."""
    *before, current = list(words) or [""]
    state = _State(parser)
    top = _subcommands(parser)
    awaiting: argparse.Action | None = None  # a flag whose value is the next word
    only_positionals = False
    for word in before:
        if awaiting is not None:
            state.values[awaiting.dest] = word
            awaiting = None
            continue
        if word == "--" and not only_positionals:
            only_positionals = True
            continue
        if word.startswith("-") and word != "-" and not only_positionals:
            action, value = _flag_value(word, _options(state.parser))
            if action is None:
                continue  # unknown: taken as a flag without a value
            state.seen.append(action)
            if value is not None:
                state.values[action.dest] = value
            elif _takes_value(action):
                awaiting = action
            continue
        if state.command is None:
            if top is None or word not in top.choices:
                return Completion()  # an unknown command: nothing to offer
            state.command = word
            state.parser = top.choices[word]
        else:
            state.positionals += 1
    target = Target(
        kubeconfig=state.values.get("kubeconfig"),
        context=state.values.get("context"),
        cluster=state.values.get("cluster"),
        user=state.values.get("user"),
        namespace=state.values.get("namespace"),
    )
    if awaiting is not None:
        return _value(awaiting, current, target, lister)
    if current.startswith("-") and not only_positionals:
        action, value = _flag_value(current, _options(state.parser))
        if action is not None and value is not None and current.startswith("--"):
            return _value(action, value, target, lister)
        return _flags(state, current)
    if state.command is None:
        if top is None:
            return Completion()
        helps = {a.dest: _one_line(a.help) for a in top._choices_actions}
        return Completion(
            [(name, helps.get(name, "")) for name in top.choices if name.startswith(current)]
        )
    positionals = [a for a in state.parser._actions if not a.option_strings]
    if state.positionals < len(positionals):
        kind = _POSITIONAL_KINDS.get(str(positionals[state.positionals].metavar))
        if kind is None:
            return Completion()
        return _named(lister.names(kind, target), current)
    # Every positional is given: offer the required flags still missing (as Cobra does).
    missing = [
        a for a in state.parser._actions if a.required and a.option_strings and a not in state.seen
    ]
    return Completion([(a.option_strings[-1], _one_line(a.help)) for a in missing])


def _named(names: Sequence[str], prefix: str) -> Completion:
    return Completion([(n, "") for n in sorted(set(names)) if n.startswith(prefix)])


def _value(action: argparse.Action, current: str, target: Target, lister: Lister) -> Completion:
    if action.choices is not None:
        choices = [str(c) for c in action.choices]
        return Completion([(c, "") for c in choices if c.startswith(current)])
    if action.dest in _FILE_VALUES:
        return Completion(directive=DEFAULT)
    kind = _VALUE_KINDS.get(action.dest)
    if kind is None:
        return Completion()  # a free value (a token, a time, a duration): nothing to offer
    return _named(lister.names(kind, target), current)


def _flags(state: _State, current: str) -> Completion:
    """The flags of the command (or those before it) that start with `current`, less those
    given already (unless they add up)."""
    candidates = []
    for action in state.parser._actions:
        if action in state.seen and not isinstance(action, argparse._AppendAction):
            continue
        help = _one_line(action.help)
        for option in action.option_strings:
            if option.startswith(current) and action.help != argparse.SUPPRESS:
                candidates.append((option, help))
    return Completion(candidates)


class ApiLister:
    """Names from the kubeconfig (contexts, clusters, users) and from the API server (through
    the plugin's `connect`), [] on any failure or after `deadline` seconds."""

    def __init__(self, deadline: float = DEADLINE) -> None:
        self.deadline = deadline

    def names(self, kind: Kind, target: Target) -> list[str]:
        if kind in ("contexts", "clusters", "users"):
            return self._kubeconfig_names(kind, target)
        resource = {
            "rerunnablejobs": RERUNNABLE_JOBS,
            "executions": EXECUTIONS,
            "namespaces": NAMESPACES,
        }[kind]
        return self._within_deadline(lambda: self._api_names(resource, target))

    def _kubeconfig_names(self, kind: Kind, target: Target) -> list[str]:
        found: list[str] = []
        try:
            for path in kubeconfig_paths(target.kubeconfig):
                document = yaml.safe_load(path.read_text()) or {}
                for entry in document.get(kind) or []:
                    name = entry.get("name") if isinstance(entry, dict) else None
                    if isinstance(name, str) and name not in found:
                        found.append(name)
        except Exception:
            return found
        return found

    def _api_names(self, resource: Resource, target: Target) -> list[str]:
        with connect(
            kubeconfig=target.kubeconfig,
            context=target.context,
            namespace=target.namespace,
            cluster=target.cluster,
            user=target.user,
            request_timeout=self.deadline,
        ) as cluster:
            return cluster.names(resource, namespaced=resource is not NAMESPACES)

    def _within_deadline(self, call: Callable[[], list[str]]) -> list[str]:
        """call(), or [] if it fails or has not answered within the deadline (it is left to
        end in a daemon thread: the completion process exits without waiting for it)."""
        result: list[str] = []

        def run() -> None:
            try:
                result.extend(call())
            except Exception:
                result.clear()

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(self.deadline)
        return [] if worker.is_alive() else list(result)


def main(argv: Sequence[str] | None = None, *, lister: Lister | None = None) -> int:
    """The `kubectl_complete-rerun` console script: always exits 0 (kubectl ignores the
    output of a failed completion)."""
    words = sys.argv[1:] if argv is None else list(argv)
    try:
        result = complete(words, build_parser(), lister or ApiLister())
    except Exception:
        result = Completion()
    sys.stdout.write("".join(f"{line}\n" for line in result.lines()))
    sys.stdout.flush()
    return 0
