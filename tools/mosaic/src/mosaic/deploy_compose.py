"""`mosaic deploy compose up|down|status`: the whole shop in containers on this machine, from
the generated deploy/compose/compose.yaml, with podman-compose or `docker compose`.

`up` builds the images this revision lacks, makes the state the compose file mounts (under
$MOSAIC_HOME/compose: admin passwords and URLs, the PKI, one folder per service for what
provisioning writes), starts the project and waits until the shop answers. `down` removes
every container and the network, and the volumes unless asked to keep the data.

Long because up, down and status share one deployment's engine, state folder and port
checks.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mosaic import images
from mosaic.backing.secrets import Secrets
from mosaic.backing.valkey import ADMIN_USER as VALKEY_ADMIN
from mosaic.compose import (
    COMPOSE_FILE,
    POSTGRES_PORT,
    PROJECT,
    VALKEY_PORT,
    compose,
    render,
    start_order,
)
from mosaic.engine import Engine, run_streamed
from mosaic.errors import MosaicError, UsageError
from mosaic.pki import ensure_pki
from mosaic.pki.files import write_atomically
from mosaic.services import OPERATOR, Service, discover_services

Say = Callable[[str], None]
CONTAINER_USER = 10001  # the images' numeric user (deploy/images/Containerfile)
POSTGRES_ADMIN = "postgres"
READY_EVERY = 5.0  # seconds between "waiting" lines


@dataclass(frozen=True)
class Ports:
    shop: int = 8080
    mail: int = 8025


class ComposeDeployment:
    def __init__(
        self,
        root: Path,
        home: Path,
        services_dir: Path,
        engine: Engine,
        say: Say,
        project: str = PROJECT,
    ) -> None:
        self.root = root
        self.project = project
        self.state = home / "compose"
        self.services_dir = services_dir
        self.engine = engine
        self.say = say
        self.file = root / COMPOSE_FILE
        self.tag = images.Revision.of(root).tag

    def services(self) -> list[Service]:
        return discover_services(self.services_dir)

    def environ(self, ports: Ports) -> dict[str, str]:
        return {
            **self.engine.environ(),
            "MOSAIC_STATE": str(self.state),
            "MOSAIC_TAG": self.tag,
            "MOSAIC_PORT": str(ports.shop),
            "MOSAIC_MAIL_PORT": str(ports.mail),
        }

    def compose(self, *args: str, ports: Ports = Ports()) -> int:
        argv = [*self.engine.compose(), "--file", str(self.file), "--project-name", self.project]
        return run_streamed([*argv, *args], self.environ(ports), self.root, self._quiet)

    def call(self, args: list[str]) -> int:
        """A compose command of the operator's (`run --rm provision mosaic admin ...`,
        `stop`), on this deployment's file, project and environment; stdin and stdout are
        the caller's (a file in, a CSV out). Its exit code.

        A one-off `run` gets `--no-deps`: the deployment is up, and podman-compose 1.6's
        `run` otherwise brings the container's dependencies "up" with remove_orphans,
        whose `down` stops and removes every container of the project (the whole shop),
        then waits for ever (seen in tests/containers/test_compose_backup.py)."""
        argv = [*self.engine.compose(), "--file", str(self.file), "--project-name", self.project]
        if args[:1] == ["run"] and "--no-deps" not in args:
            args = ["run", "--no-deps", *args[1:]]
        env = self.environ(Ports())
        return subprocess.run([*argv, *args], env=env, cwd=self.root, check=False).returncode

    # --- up ----------------------------------------------------------------------------

    def up(
        self,
        ports: Ports,
        scale: list[str],
        base: str | None,
        ready_timeout: float,
    ) -> None:
        started = time.monotonic()
        services = self.services()
        self._check_rendered(services)
        self._build_missing(base)
        spec = compose(services)
        if unknown := [s for s in scale if s.partition("=")[0] not in spec["services"]]:
            raise UsageError(
                f"--scale {unknown[0]}: no such container in the compose file",
                f"Containers: {', '.join(spec['services'])}.",
            )
        self._prepare(services)
        for level, names in enumerate(start_order(spec), start=1):
            self._start(level, names, spec, scale, ports)
        url = f"http://127.0.0.1:{ports.shop}"
        self._wait_ready(url, ready_timeout)
        self.say(f"ready in {time.monotonic() - started:.0f} s")
        print(f"Mosaic is ready: {url}", flush=True)
        print(f"Dev mailbox: http://127.0.0.1:{ports.mail}", flush=True)

    def _start(
        self,
        level: int,
        names: list[str],
        spec: dict[str, Any],
        scale: list[str],
        ports: Ports,
    ) -> None:
        """Start one level of the start order; wait for its one-shots to succeed.

        Level by level, with `--no-deps`, rather than compose's own ordering: podman 4.3
        cannot start a container whose dependency has dependencies of its own ("depends on
        container ... not found in input list"), and podman-compose counts a one-shot that
        failed as done. Here a failed one-shot stops everything with its log."""
        one_shots = [n for n in names if spec["services"][n].get("restart") == "no"]
        self.say(f"[{level}] starting {', '.join(names)}")
        scaled = [f"--scale={s}" for s in scale if s.partition("=")[0] in names]
        argv = ["up", "--detach", "--no-deps", *scaled, *names]
        if self.compose(*argv, ports=ports) != 0:
            raise MosaicError(
                f"compose could not start {', '.join(names)} (its output is above)",
                "`mosaic deploy compose down` removes what started.",
            )
        for name in one_shots:
            self._wait_done(name)

    def _quiet(self, line: str) -> bool:
        """podman runs healthchecks from systemd timers: without systemd (in a container, in
        CI) it says so twice for every container it starts, and the checks only run when
        asked (`podman healthcheck run`). Those lines are left out; nothing else is."""
        return self.engine.name == "podman" and "unable to get systemd connection" in line

    def _wait_done(self, service: str) -> None:
        """Wait for a one-shot's containers to exit; a MosaicError with its log unless 0."""
        for container in self.containers(service):
            done = self.engine.run("wait", container, capture=True)
            code = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "?"
            if code != "0":
                log = self.engine.run("logs", "--tail", "30", container, capture=True, check=False)
                raise MosaicError(
                    f"{service} failed (exit {code}); the shop cannot start without it",
                    f"Fix the cause, then run `mosaic deploy compose up` again "
                    f"(`{self.engine.name} logs {container}` has the whole log).",
                    output=log.stdout + log.stderr,
                )
            self.say(f"    {service}: done")

    def _label(self, key: str, value: str) -> str:
        """A `--filter` for what the compose tool labels its containers, networks, volumes."""
        prefix = "io.podman.compose" if self.engine.name == "podman" else "com.docker.compose"
        return f"label={prefix}.{key}={value}"

    def containers(self, service: str) -> list[str]:
        """The names of a compose service's containers (each replica)."""
        done = self.engine.run(
            "ps", "--all", "--format", "{{.Names}}",
            "--filter", self._label("project", self.project),
            "--filter", self._label("service", service),
            capture=True,
        )  # fmt: skip
        return sorted(done.stdout.split())

    def project_containers(self) -> list[str]:
        """The names of every container of the project, running or not."""
        done = self.engine.run(
            "ps", "--all", "--format", "{{.Names}}",
            "--filter", self._label("project", self.project),
            capture=True,
        )  # fmt: skip
        return sorted(done.stdout.split())

    def _check_rendered(self, services: list[Service]) -> None:
        if not self.file.is_file() or self.file.read_text() != render(services):
            raise MosaicError(
                f"{self.file} is not what the service data renders",
                "Run `mosaic deploy render` to write it again, then run this again.",
            )

    def _build_missing(self, base: str | None) -> None:
        wanted = images.packages(self.root)
        missing = [p for p in wanted if not self.engine.has_image(images.image(p.name, self.tag))]
        if not missing:
            self.say(f"images: all {len(wanted)} present for revision {self.tag}")
            return
        self.say(f"images: building {len(missing)} for revision {self.tag}")
        images.build(
            self.engine, self.root, missing, images.choose_base(self.engine, base), self.say
        )

    def _prepare(self, services: list[Service]) -> None:
        """The files the compose file mounts, made once and kept: passwords stay the same
        across runs (the volumes keep the servers' data), certificates are renewed near
        expiry as under `mosaic up`."""
        self.state.mkdir(parents=True, exist_ok=True, mode=0o700)
        secrets = Secrets(self.state / "secrets.json")
        postgres, valkey = secrets.password("postgres/admin"), secrets.password("valkey/admin")
        admin = self.state / "admin"
        admin.mkdir(exist_ok=True, mode=0o700)
        files = {
            "postgres-password": postgres,
            "valkey-password": valkey,
            "postgres-admin-url": (
                f"postgresql://{POSTGRES_ADMIN}:{postgres}@postgres:{POSTGRES_PORT}/postgres"
            ),
            "valkey-admin-url": f"redis://{VALKEY_ADMIN}:{valkey}@valkey:{VALKEY_PORT}/0",
        }
        for name, value in files.items():
            write_atomically(admin / name, value.encode(), private=True)
        for issued in ensure_pki(self.state, [s.name for s in services] + [OPERATOR]):
            self.say(f"issued the {issued.describe()}")
        provisioned = self.state / "provisioned"
        provisioned.mkdir(exist_ok=True, mode=0o700)
        for service in services:
            if service.backing - {"smtp"} or service.edge:
                (provisioned / service.name).mkdir(exist_ok=True, mode=0o700)
        backups = self.state / "backups"  # the daily backup's (compose.py)
        backups.mkdir(exist_ok=True, mode=0o700)
        for folder in (admin, self.state / "pki", provisioned, backups):
            self._hand_over(folder)

    def _hand_over(self, folder: Path) -> None:
        """Make `folder` the containers' user's: private keys and passwords stay 0600 and
        0700, readable by the processes that mount them and nobody else."""
        if os.geteuid() != 0:
            if self.engine.name == "podman":  # rootless: the user's own namespace
                self.engine.run("unshare", "chown", "-R", f"{CONTAINER_USER}", str(folder))
                return
            raise MosaicError(
                "with Docker, the files the containers mount must belong to their user "
                f"({CONTAINER_USER}), which needs root",
                "Run `mosaic deploy compose up` as root, or use podman (rootless works).",
            )
        for path in (folder, *folder.rglob("*")):
            os.chown(path, CONTAINER_USER, CONTAINER_USER, follow_symlinks=False)

    def _wait_ready(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        next_note = time.monotonic() + READY_EVERY
        last = "no answer yet"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=3) as answer:  # noqa: S310 - our http URL
                    if answer.status == 200:
                        return
                    last = f"HTTP {answer.status}"
            except urllib.error.HTTPError as error:
                last = f"HTTP {error.code}"
            except (OSError, urllib.error.URLError) as error:
                last = str(getattr(error, "reason", error))
            if time.monotonic() >= next_note:
                self.say(f"waiting for the shop at {url} ({last})")
                next_note = time.monotonic() + READY_EVERY
            time.sleep(0.5)
        raise MosaicError(
            f"the shop did not answer at {url} within {timeout:.0f} s ({last})",
            "`mosaic deploy compose status` shows which container is not up; "
            f"`{self.engine.name} logs <container>` tells why.",
        )

    # --- down and status ---------------------------------------------------------------

    def down(self, keep_data: bool) -> None:
        args = ["down", "--remove-orphans"] + ([] if keep_data else ["--volumes"])
        if self.compose(*args) != 0:
            raise MosaicError("compose could not remove the shop (its output is above)")
        left = [item for item in self.leftovers() if not (keep_data and item.startswith("volume"))]
        if left:
            raise MosaicError(
                "compose left these behind: " + ", ".join(left),
                f"Remove them with `{self.engine.name} rm -f` / `network rm` / `volume rm`.",
            )
        kept = " (volumes kept)" if keep_data else ", volumes removed"
        self.say(f"removed every container and the network of {self.project!r}{kept}")

    def leftovers(self) -> list[str]:
        """Containers, networks and volumes of the project that still exist."""
        label = self._label("project", self.project)
        listings = {
            "container": ("ps", "--all", "--format", "{{.Names}}"),
            "network": ("network", "ls", "--format", "{{.Name}}"),
            "volume": ("volume", "ls", "--format", "{{.Name}}"),
        }
        found = []
        for kind, listing in listings.items():
            done = self.engine.run(*listing, "--filter", label, capture=True)
            found += [f"{kind} {name}" for name in done.stdout.split()]
        return found

    def status(self) -> list[ContainerStatus]:
        """Each container of the project: its state, and its healthcheck run now (podman
        runs them only when asked where there is no systemd; Docker reports its own)."""
        listing = self.engine.run(
            "ps", "--all", "--filter", self._label("project", self.project),
            "--format", "{{.Names}}\t{{.Status}}\t{{.Image}}", capture=True,
        )  # fmt: skip
        found = []
        for line in listing.stdout.splitlines():
            name, state, image = [*line.split("\t"), "", ""][:3]
            health = ""
            if state.startswith("Up"):
                health = self._health(name)
            state = re.sub(r" \((starting|healthy|unhealthy)\)$", "", state)  # said apart
            found.append(ContainerStatus(name, state, health, image))
        return found

    def _health(self, container: str) -> str:
        if self.engine.name != "podman":
            done = self.engine.run(
                "inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}{{end}}",
                container, capture=True, check=False,
            )  # fmt: skip
            return done.stdout.strip()
        done = self.engine.run("healthcheck", "run", container, capture=True, check=False)
        if done.returncode in (0, 1):
            return "healthy" if done.returncode == 0 else "unhealthy"
        return "no check" if "no defined healthcheck" in done.stderr else "unknown"


@dataclass(frozen=True)
class ContainerStatus:
    name: str
    state: str  # "Up 2 minutes ago", "Exited (0) 3 minutes ago"
    health: str  # healthy, unhealthy, "no check" (none defined), or "" (not running)
    image: str
