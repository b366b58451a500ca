"""Deployments and operations bootstrap against a real Prefect API (the session test harness)."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from flows.deployments import INBOX_DEPLOYMENT, PACKAGE_DEPLOYMENT, deployments
from flows.ops import DEFAULT_LIMITS, WORK_POOLS

ROOT = Path(__file__).resolve().parents[1]
PREFECT_YAML = ROOT / "infra" / "prefect.yaml"
NEWSROOM = str(Path(sys.executable).with_name("newsroom"))
PREFECT = str(Path(sys.executable).with_name("prefect"))


def _api_env() -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    return {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def test_prefect_yaml_names_real_flows_and_matches_served_deployments():
    spec = yaml.safe_load(PREFECT_YAML.read_text("utf-8"))
    served = {(d.flow_name, d.name) for d in deployments()}
    declared = set()
    for dep in spec["deployments"]:
        path, _, attr = dep["entrypoint"].partition(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, attr)
        declared.add((flow.name, dep["name"]))
        assert dep["work_pool"]["name"] in WORK_POOLS
        assert dep["description"]
    assert declared == served
    assert {PACKAGE_DEPLOYMENT, INBOX_DEPLOYMENT} <= {f"{f}/{n}" for f, n in declared}
    by_name = {d["name"]: d for d in spec["deployments"]}
    assert by_name["broadcast"]["work_pool"]["name"] == "heavy" and by_name["upscale"]["work_pool"]["name"] == "heavy"
    assert by_name["edit"]["work_pool"]["job_variables"]["env"]["NEWSROOM_DISPATCH"] == "deployments"
    assert by_name["package"]["work_pool"]["job_variables"]["env"]["NEWSROOM_DISPATCH"] == "deployments"
    assert by_name["inbox"]["schedules"][0]["cron"] and by_name["inbox"]["concurrency_limit"] == 1


def test_parameters_are_documented_for_the_ui_form():
    """Every parameter of every deployment has a title and a description in the schema the UI renders."""
    for dep in deployments():
        props = dep._parameter_openapi_schema.model_dump()["properties"]
        assert props, dep.name
        for name, prop in props.items():
            assert prop.get("description"), f"{dep.flow_name}.{name} has no description"


def test_bootstrap_then_deploy_with_the_prefect_cli(prefect_harness):
    from prefect.client.orchestration import get_client

    env = _api_env()
    first = subprocess.run([NEWSROOM, "ops", "bootstrap", "--limit", "newsroom-llm=3"], env=env, capture_output=True,
                           text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["limits"]["newsroom-llm"] == 3 and set(report["limits"]) == set(DEFAULT_LIMITS)
    # Re-run (every `docker compose up` does): pools stay, limits follow the defaults + the setting.
    again = json.loads(subprocess.run([NEWSROOM, "ops", "bootstrap"], capture_output=True, text=True, timeout=120,
                                      env={**env, "NEWSROOM_CONCURRENCY_LIMITS": '{"newsroom-anchor": 2}'},
                                      check=True).stdout)
    assert set(again["pools_existing"]) == set(WORK_POOLS) and again["pools_created"] == []
    expected = {**DEFAULT_LIMITS, "newsroom-anchor": 2}
    assert again["limits"] == expected
    bad = subprocess.run([NEWSROOM, "ops", "bootstrap", "--limit", "oops"], env=env, capture_output=True, text=True)
    assert bad.returncode == 1 and "TAG=SLOTS" in bad.stderr

    deployed = subprocess.run([PREFECT, "--no-prompt", "deploy", "--all", "--prefect-file", str(PREFECT_YAML)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]

    async def check():
        async with get_client() as client:
            package = await client.read_deployment_by_name(PACKAGE_DEPLOYMENT)
            inbox = await client.read_deployment_by_name(INBOX_DEPLOYMENT)
            broadcast = await client.read_deployment_by_name("broadcast/broadcast")
            limits = {c.tag: c.concurrency_limit for c in await client.read_concurrency_limits(limit=100, offset=0)}
            for tag in DEFAULT_LIMITS:  # leave the shared harness unlimited for the other tests
                await client.delete_concurrency_limit_by_tag(tag)
            for dep in yaml.safe_load(PREFECT_YAML.read_text("utf-8"))["deployments"]:
                # Every deployment `prefect deploy` made: later tests serve their own under the same names.
                flow_name = importlib.import_module(dep["entrypoint"].partition(":")[0].removesuffix(".py")
                                                    .replace("/", ".")).__dict__[dep["entrypoint"].partition(":")[2]].name
                found = await client.read_deployment_by_name(f"{flow_name}/{dep['name']}")
                await client.delete_deployment(found.id)
            return package, inbox, broadcast, limits

    package, inbox, broadcast, limits = asyncio.run(check())
    expected = {**DEFAULT_LIMITS, "newsroom-anchor": 2}
    assert package.work_pool_name == "cpu" and broadcast.work_pool_name == "heavy"
    assert package.job_variables["env"]["NEWSROOM_DISPATCH"] == "deployments"
    assert inbox.schedules and inbox.schedules[0].schedule.cron == "*/5 * * * *"
    assert {tag: limits[tag] for tag in DEFAULT_LIMITS} == expected
    assert "source" in package.parameter_openapi_schema["properties"]


@pytest.mark.parametrize("args", [["serve", "--help"], ["webhook", "--help"], ["ops", "openapi"]])
def test_operations_commands_exist(args):
    result = subprocess.run([NEWSROOM, *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
