"""Whether a build of a service can replace the running one in place, by its service data
alone ([tool.mosaic] and Procfile): a rolling upgrade changes code, not what the runner
provisioned and wired at start. Anything else needs `mosaic up` again on that revision."""

from mosaic.services import Service


def incompatibilities(running: Service, candidate: Service, services: set[str]) -> list[str]:
    """What keeps `candidate` from taking `running`'s place in a stack of `services`."""
    problems = []
    if candidate.backing != running.backing:
        problems.append(
            f"its backing services change ({_listed(running.backing)} -> "
            f"{_listed(candidate.backing)}): they are provisioned when `mosaic up` starts"
        )
    if missing := sorted(set(candidate.calls) - services):
        problems.append(f"it calls {', '.join(missing)}, which this stack does not run")
    if added := sorted(set(candidate.calls) - set(running.calls)):
        problems.append(
            f"it calls {', '.join(added)} besides what it called: the callee URLs and the "
            "callees' allowlists are wired when `mosaic up` starts"
        )
    if set(candidate.processes) != set(running.processes):
        problems.append(
            f"its process types change ({_listed(running.processes)} -> "
            f"{_listed(candidate.processes)}): each old type is replaced by the same new one"
        )
    if candidate.edge != running.edge:
        problems.append("it changes whether it is the edge (the shop's front door)")
    if missing := sorted(set(candidate.consumes) - services):
        problems.append(f"it consumes events of {', '.join(missing)}, not run here")
    return problems


def _listed(names: object) -> str:
    assert isinstance(names, frozenset | dict | set)
    return ", ".join(sorted(names)) or "none"
