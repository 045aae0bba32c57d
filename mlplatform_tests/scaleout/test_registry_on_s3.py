"""The scale-out model registry: MLflow's tables in PostgreSQL, the LightGBM text model and its
metadata as objects in S3; promotion, loading with the checksum, and a tampered object refused."""

import subprocess
import sys

import lightgbm as lgb
import numpy as np
import pytest

from mlplatform.lib.models.registry import CHAMPION, ChecksumMismatch, Registry
from mlplatform_tests.scaleout.conftest import BUCKET, psycopg2_url
from mlplatform_tests.scaleout.deployment import objects, s3_client

pytestmark = [pytest.mark.scaleout, pytest.mark.xdist_group("scaleout")]  # see conftest


def test_models_live_in_postgres_and_s3(scaleout_env: dict[str, str], pg_database: str):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    booster = lgb.train(
        {"objective": "regression", "verbose": -1, "num_threads": 1},
        lgb.Dataset(X, X @ [1.0, 2.0, 3.0]),
        num_boost_round=5,
    )
    registry = Registry(psycopg2_url(pg_database), f"s3://{BUCKET}/mlplatform/models")
    version = registry.register(
        "demand_forecaster", booster.model_to_string(), {"features": ["a", "b", "c"]}, {"mae": 1.0}
    )
    registry.promote("demand_forecaster", version.version)

    stored = objects(scaleout_env, "models/demand_forecaster/")
    model_keys = [k for k in stored if k.endswith("/model/model.lgb")]
    assert len(model_keys) == 1 and stored[model_keys[0]].startswith(b"tree")  # native text
    champion = registry.by_alias("demand_forecaster", CHAMPION)
    assert champion is not None and champion.version == version.version
    loaded = registry.load("demand_forecaster", champion.version)
    np.testing.assert_allclose(loaded.predict(X), booster.predict(X))

    s3_client(scaleout_env).put_object(Bucket=BUCKET, Key=model_keys[0], Body=b"tree\ntampered")
    with pytest.raises(ChecksumMismatch, match="refusing to load"):
        registry.load("demand_forecaster", champion.version)


def test_workers_opening_an_empty_registry_at_once_all_connect(pg_database: str, tmp_path):
    """Two processes make the first connection to an empty MLflow database together, as two
    workers starting their first monitoring step do: both end up with a working registry."""
    script = (
        "import sys; from mlplatform.resources.models import open_registry; "
        "r = open_registry(sys.argv[1], sys.argv[2]); "
        "print(len(r.client.search_experiments()))"
    )
    url, artifacts = psycopg2_url(pg_database), str(tmp_path / "models")
    processes = [
        subprocess.Popen([sys.executable, "-c", script, url, artifacts], stdout=subprocess.PIPE)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=180)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0]
    assert all(o.strip() == b"1" for o in outputs)  # MLflow's Default experiment, once
