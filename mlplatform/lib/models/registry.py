"""The model registry: MLflow's, holding LightGBM's native text model, its metadata and a
checksum. Loading verifies the checksum and never unpickles anything."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHAMPION = "champion"
CHALLENGER = "challenger"
MODEL_FILE = "model.lgb"
METADATA_FILE = "metadata.json"


class ChecksumMismatch(RuntimeError):
    """The stored model file is not the one that was registered."""


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    aliases: tuple[str, ...]
    metrics: dict[str, float]
    tags: dict[str, str]

    @property
    def summary(self) -> str:
        """One line: name, version, aliases, holdout errors, training window, demotion."""
        metrics = ", ".join(
            f"{k}={self.metrics[k]:.4g}"
            for k in ("mae", "mae_relative_to_best_baseline", "mae_relative_to_naive_fallback")
            if k in self.metrics
        )
        aliases = ", ".join(self.aliases) or "-"
        window = self.tags.get("training_window", "")
        demoted = f"(demoted: {self.tags['demoted']})" if "demoted" in self.tags else ""
        parts = (f"{self.name} v{self.version} [{aliases}]", metrics, window, demoted)
        return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    challenger_score: float
    champion_score: float | None
    margin: float
    reason: str


def decide_promotion(
    challenger_score: float,
    champion_score: float | None,
    margin: float,
    naive_ratio: float | None = None,
) -> PromotionDecision:
    """Promote when there is no champion, or the challenger's error is at least `margin`
    (a fraction) below the champion's on the same data. Lower scores are better.

    `naive_ratio` (forecasters): the challenger's error over that of the naive forecast
    serving falls back to. One that does not beat naive (a ratio of 1 or more, or none
    measured) is never promoted, not even as the first champion: naive would serve better."""

    def refuse(reason: str) -> PromotionDecision:
        return PromotionDecision(False, challenger_score, champion_score, margin, reason)

    if math.isnan(challenger_score):
        return refuse("challenger score is NaN")
    if naive_ratio is not None and not naive_ratio < 1:
        return refuse(
            f"challenger {challenger_score:.4g} does not beat the naive forecast "
            f"(error ratio {naive_ratio:.3g})"
        )
    if champion_score is None:
        return PromotionDecision(True, challenger_score, None, margin, "no champion yet")
    bar = champion_score * (1 - margin)
    if challenger_score < bar:
        return PromotionDecision(
            True,
            challenger_score,
            champion_score,
            margin,
            f"challenger {challenger_score:.4g} beats champion {champion_score:.4g} "
            f"by more than {margin:.0%}",
        )
    return refuse(
        f"challenger {challenger_score:.4g} does not beat champion {champion_score:.4g} "
        f"by {margin:.0%}"
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Registry:
    """MLflow tracking and registry at `tracking_uri`, artifacts under `artifact_root`."""

    def __init__(self, tracking_uri: str, artifact_root: str) -> None:
        from mlflow.tracking import MlflowClient

        # a progress bar per one-file download fills CLI output and run logs; one set
        # explicitly is kept
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root.rstrip("/")
        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    def _experiment(self, name: str) -> str:
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            return experiment.experiment_id
        return self.client.create_experiment(name, artifact_location=f"{self.artifact_root}/{name}")

    def register(
        self,
        name: str,
        model_text: str,
        metadata: dict[str, Any],
        metrics: dict[str, float],
        params: dict[str, Any] | None = None,
    ) -> ModelVersion:
        """Log the model text and its metadata in a run, register a new version, make it the
        challenger. The checksum of the model file goes into the version's tags."""
        from mlflow.exceptions import MlflowException

        run = self.client.create_run(self._experiment(name), run_name=f"{name}-training")
        run_id = run.info.run_id
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "model"
            folder.mkdir()
            (folder / MODEL_FILE).write_text(model_text)
            checksum = sha256(folder / MODEL_FILE)
            (folder / METADATA_FILE).write_text(
                json.dumps({**metadata, "sha256": checksum}, indent=1, default=str)
            )
            self.client.log_artifacts(run_id, str(folder), artifact_path="model")
        for key, value in metrics.items():
            if isinstance(value, int | float):
                self.client.log_metric(run_id, key, float(value))
        for key, value in (params or {}).items():
            self.client.log_param(run_id, key, str(value)[:500])
        self.client.set_terminated(run_id)
        with contextlib.suppress(MlflowException):  # already registered
            self.client.create_registered_model(name)
        version = self.client.create_model_version(
            name,
            source=f"{run.info.artifact_uri}/model",
            run_id=run_id,
            tags={
                "sha256": checksum,
                **{k: str(v)[:5000] for k, v in metadata.items() if k in _TAGGED},
            },
        )
        self.client.set_registered_model_alias(name, CHALLENGER, version.version)
        return self.get(name, int(version.version))

    def get(self, name: str, version: int) -> ModelVersion:
        mv = self.client.get_model_version(name, str(version))
        run = self.client.get_run(mv.run_id)
        return ModelVersion(
            name, int(mv.version), tuple(mv.aliases), dict(run.data.metrics), dict(mv.tags)
        )

    def by_alias(self, name: str, alias: str) -> ModelVersion | None:
        from mlflow.exceptions import MlflowException

        try:
            mv = self.client.get_model_version_by_alias(name, alias)
        except MlflowException:
            return None
        return self.get(name, int(mv.version))

    def load(self, name: str, version: int):  # -> lightgbm.Booster
        """The booster of `name` version `version`, after checking its checksum."""
        import lightgbm as lgb

        mv = self.client.get_model_version(name, str(version))
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(self.client.download_artifacts(mv.run_id, "model", tmp))
            model_file = local / MODEL_FILE
            expected = mv.tags.get("sha256")
            actual = sha256(model_file)
            if expected != actual:
                raise ChecksumMismatch(
                    f"{name} v{version}: model file checksum {actual[:12]}… does not match the "
                    f"registered {str(expected)[:12]}…; refusing to load it"
                )
            return lgb.Booster(model_str=model_file.read_text())

    def metadata(self, name: str, version: int) -> dict[str, Any]:
        mv = self.client.get_model_version(name, str(version))
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(self.client.download_artifacts(mv.run_id, f"model/{METADATA_FILE}", tmp))
            return json.loads(local.read_text())

    def promote(self, name: str, version: int, reason: str = "manual") -> None:
        """Make `version` the champion, remembering the one it replaces for rollback."""
        current = self.by_alias(name, CHAMPION)
        if current is not None and current.version == version:
            return
        self.client.set_model_version_tag(
            name, str(version), "previous_champion", str(current.version) if current else ""
        )
        self.client.set_model_version_tag(name, str(version), "promotion_reason", reason)
        if "demoted" in self.client.get_model_version(name, str(version)).tags:
            self.client.delete_model_version_tag(name, str(version), "demoted")
        self.client.set_registered_model_alias(name, CHAMPION, str(version))
        challenger = self.by_alias(name, CHALLENGER)
        if challenger is not None and challenger.version == version:
            self.client.delete_registered_model_alias(name, CHALLENGER)

    def rollback(self, name: str) -> int:
        """Give the champion alias back to the version the current champion replaced."""
        current = self.by_alias(name, CHAMPION)
        if current is None:
            raise LookupError(f"{name} has no champion to roll back")
        previous = current.tags.get("previous_champion", "")
        if not previous:
            raise LookupError(f"{name} v{current.version} replaced no earlier champion")
        self.client.set_registered_model_alias(name, CHAMPION, previous)
        self.client.set_model_version_tag(name, str(current.version), "rolled_back", "true")
        return int(previous)

    def demote(self, name: str, reason: str) -> int:
        """Withdraw the champion without naming another; returns its version. It stays
        registered (tagged `demoted`) and becomes the challenger unless there is one, so a
        forecaster's serving falls back to the naive forecast that version was measured
        against, and the next trained version that beats naive is promoted as a first one."""
        current = self.by_alias(name, CHAMPION)
        if current is None:
            raise LookupError(f"{name} has no champion to demote")
        self.client.delete_registered_model_alias(name, CHAMPION)
        self.client.set_model_version_tag(name, str(current.version), "demoted", reason)
        if self.by_alias(name, CHALLENGER) is None:
            self.client.set_registered_model_alias(name, CHALLENGER, str(current.version))
        return current.version

    def versions(self, name: str | None = None) -> list[ModelVersion]:
        query = f"name='{name}'" if name else ""
        found = self.client.search_model_versions(query)
        return sorted(
            (self.get(mv.name, int(mv.version)) for mv in found),
            key=lambda v: (v.name, v.version),
        )


_TAGGED = ("dagster_run_id", "data_version", "training_window")


def input_fingerprint(versions: dict[str, str]) -> str:
    """12 hex digits naming a training window by each partition's data version."""
    text = ",".join(f"{day}={version}" for day, version in sorted(versions.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:12]
