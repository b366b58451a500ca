"""Where a stack keeps its files: one folder (`Settings.stack_dir`) laid out by `Paths`, and the checkout
the workers run the flows from (`code_dir`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from newsroom.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Paths:
    root: Path

    @property
    def run(self) -> Path: return self.root / "run"
    @property
    def logs(self) -> Path: return self.root / "logs"
    @property
    def config(self) -> Path: return self.root / "supervisord.conf"
    @property
    def socket(self) -> Path: return self.run / "supervisor.sock"
    @property
    def pid_file(self) -> Path: return self.run / "supervisord.pid"
    @property
    def secrets(self) -> Path: return self.root / "secrets.json"
    @property
    def layout(self) -> Path: return self.root / "run" / "layout.json"
    @property
    def meta_db(self) -> Path: return self.root / "s3" / "meta.db"
    @property
    def s3_data(self) -> Path: return self.root / "s3" / "blocks"
    @property
    def s3_cache(self) -> Path: return self.root / "s3" / "cache"
    @property
    def s3_events(self) -> Path: return self.root / "s3" / "events"
    @property
    def prefect_home(self) -> Path: return self.root / "prefect"
    @property
    def prefect_yaml(self) -> Path: return self.root / "prefect.yaml"
    @property
    def scratch(self) -> Path: return self.root / "scratch"

    def log(self, service: str) -> Path:
        return self.logs / f"{service}.log"


def code_dir() -> Path:
    """The checkout the workers run flows from (the deployments' working directory)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "flows").is_dir() or not (root / "infra" / "prefect.yaml").is_file():
        raise ConfigError(f"the stack runs the flows from a checkout of newsroom; {root} has no flows/ and "
                          "infra/prefect.yaml: run it from the repository (pip install -e .)")
    return root
