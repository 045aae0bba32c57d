"""Deterministic simulator of a cloud estate: metrics, FOCUS cost lines and labelled anomalies.

Every day is generated from `(seed, day)` alone, so simulating a range in one go or day by day
gives identical files. Anomalies may last into the next two days; a day therefore also replays
the events that started on the two days before it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from mlplatform.lib.lake.atomic import atomic_write

REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
ACCOUNTS = ("111111111111", "222222222222", "333333333333")
# instance type -> (service, hourly price USD, vCPU capacity in requests per second)
INSTANCE_TYPES: dict[str, tuple[str, float, float]] = {
    "t3.medium": ("EC2", 0.0416, 40.0),
    "m5.large": ("EC2", 0.096, 90.0),
    "c5.xlarge": ("EC2", 0.17, 200.0),
    "r5.large": ("EC2", 0.126, 80.0),
    "db.m5.large": ("RDS", 0.171, 120.0),
    "db.r5.large": ("RDS", 0.24, 150.0),
}
SERVICE_NAMES = {
    "EC2": ("Amazon Elastic Compute Cloud", "Compute", "AWS/EC2"),
    "RDS": ("Amazon Relational Database Service", "Databases", "AWS/RDS"),
}
TRANSFER_PRICE_PER_GB = 0.09
ANOMALY_KINDS = ("spike", "level_shift", "slow_leak")
# With `more_anomaly_kinds`, also (drawn apart, so the kinds above stay what they were):
#   deploy_shift    a release makes one resource's requests costlier: CPU per request and
#                   memory up for 12-48 hours, traffic unchanged
#   stuck_metric    one metric of one resource reports the same value for 4-16 hours (not
#                   network: clean sums its in and out into network_io, which a stuck half
#                   would not hold flat)
#   service_outage  every resource of one service in one region loses most of its traffic
#                   for 1-4 hours (one label per resource)
MORE_ANOMALY_KINDS = ("deploy_shift", "stuck_metric", "service_outage")
STUCK_METRICS = ("cpu_utilization", "memory_utilization", "request_count")
# What changes from `drift_start` on, on the 40 % of resources it affects:
#   mix     more load, a later daily peak and heavier requests (a traffic-mix change)
#   level   more load only (1.5x), same daily shape
#   shape   the daily peak 4 hours later and a weaker weekend dip, same mean load
#   memory  memory use 20 points higher (a new release), traffic unchanged
DRIFT_KINDS = ("mix", "level", "shape", "memory")


@dataclass(frozen=True)
class SimulationConfig:
    resources: int = 200
    seed: int = 7
    interval_minutes: int = 15
    anomaly_rate: float = 0.02
    drift_start: date | None = None
    drift_kind: str = "mix"
    idle_share: float = 0.15  # over-provisioned resources, using 2-10 % of their capacity
    more_anomaly_kinds: bool = False  # MORE_ANOMALY_KINDS as well, at the same rate

    def __post_init__(self) -> None:
        if self.resources < 1:
            raise ValueError("resources must be at least 1")
        if self.interval_minutes <= 0 or 60 % self.interval_minutes:
            raise ValueError("interval_minutes must divide 60")
        if not 0 <= self.anomaly_rate <= 1:
            raise ValueError("anomaly_rate must be within [0, 1]")
        if not 0 <= self.idle_share <= 1:
            raise ValueError("idle_share must be within [0, 1]")
        if self.drift_kind not in DRIFT_KINDS:
            raise ValueError(f"drift_kind must be one of {', '.join(DRIFT_KINDS)}")


@dataclass(frozen=True)
class Anomaly:
    resource_id: str
    kind: str
    start: datetime
    end: datetime
    magnitude: float
    metric: str | None = None  # the one metric a stuck_metric freezes


@dataclass(frozen=True)
class SimulatedDay:
    day: date
    metrics: pl.DataFrame  # long landing format
    cost: pl.DataFrame  # FOCUS columns
    anomalies: list[Anomaly]
    drifted: bool


def resource_catalog(config: SimulationConfig) -> pl.DataFrame:
    """The estate: one row per resource with its fixed traits."""
    rng = np.random.default_rng([config.seed, 0])
    n = config.resources
    types = list(INSTANCE_TYPES)
    kind = rng.choice(len(types), size=n, p=[0.2, 0.25, 0.15, 0.15, 0.15, 0.1])
    service = [INSTANCE_TYPES[types[k]][0] for k in kind]
    ids = [("i-" if s == "EC2" else "db-") + f"{rng.integers(0, 16**12):012x}" for s in service]
    capacity = np.array([INSTANCE_TYPES[types[k]][2] for k in kind])
    # drawn apart, so the other columns stay what they were for a seed
    idle_draw = np.random.default_rng([config.seed, 5])
    idle = idle_draw.random(n) < config.idle_share
    idle_load = idle_draw.uniform(0.02, 0.1, n)
    return pl.DataFrame(
        {
            "resource_id": ids,
            "service": service,
            "instance_type": [types[k] for k in kind],
            "region": rng.choice(REGIONS, size=n).tolist(),
            "account_id": rng.choice(ACCOUNTS, size=n).tolist(),
            # A CloudWatch agent reports memory; without one the metric never arrives.
            "reports_memory": (np.array(service) == "RDS") | (rng.random(n) < 0.6),
            "capacity_rps": capacity,
            # mean share of capacity in use
            "load": np.where(idle, idle_load, rng.uniform(0.15, 0.7, n)),
            "peak_hour": rng.integers(10, 20, n),
            "weekend_factor": rng.uniform(0.4, 0.95, n),
            "noise": rng.uniform(0.03, 0.12, n),
            "memory_base": rng.uniform(20, 55, n),
            "bytes_per_request": rng.lognormal(10.5, 0.6, n),
            "discount": rng.choice([0.0, 0.0, 0.2, 0.28], size=n),
            "drift_affected": rng.random(n) < 0.4,
        }
    )


def _events_started_on(config: SimulationConfig, catalog: pl.DataFrame, day: date) -> list[Anomaly]:
    rng = np.random.default_rng([config.seed, day.toordinal(), 1])
    n = catalog.height
    hit = rng.random(n) < config.anomaly_rate
    kinds = rng.integers(0, len(ANOMALY_KINDS), n)
    starts = rng.integers(0, 24 * 60 // config.interval_minutes, n)
    magnitudes = rng.uniform(0.0, 1.0, n)
    durations = {"spike": (1, 3), "level_shift": (6, 24), "slow_leak": (24, 48)}
    events = []
    midnight = datetime.combine(day, datetime.min.time(), UTC)
    ids = catalog["resource_id"].to_list()
    for i in np.flatnonzero(hit):
        kind = ANOMALY_KINDS[kinds[i]]
        low, high = durations[kind]
        start = midnight + timedelta(minutes=int(starts[i]) * config.interval_minutes)
        hours = low + (high - low) * magnitudes[i]
        events.append(Anomaly(ids[i], kind, start, start + timedelta(hours=hours), magnitudes[i]))
    if config.more_anomaly_kinds:
        events += _more_events_started_on(config, catalog, midnight)
    return events


def _more_events_started_on(
    config: SimulationConfig, catalog: pl.DataFrame, midnight: datetime
) -> list[Anomaly]:
    rng = np.random.default_rng([config.seed, midnight.toordinal(), 3])
    n, steps = catalog.height, 24 * 60 // config.interval_minutes
    ids, memory = catalog["resource_id"].to_list(), catalog["reports_memory"].to_list()
    events = []
    hit = rng.random(n) < config.anomaly_rate
    deploy = rng.random(n) < 0.5
    starts, magnitudes = rng.integers(0, steps, n), rng.uniform(0.0, 1.0, n)
    metrics = rng.integers(0, len(STUCK_METRICS), n)
    for i in np.flatnonzero(hit):
        start = midnight + timedelta(minutes=int(starts[i]) * config.interval_minutes)
        low, high = (12, 48) if deploy[i] else (4, 16)
        end = start + timedelta(hours=low + (high - low) * magnitudes[i])
        metric = STUCK_METRICS[metrics[i]]
        if metric == "memory_utilization" and not memory[i]:
            metric = "cpu_utilization"
        kind, metric = ("deploy_shift", None) if deploy[i] else ("stuck_metric", metric)
        events.append(Anomaly(ids[i], kind, start, end, magnitudes[i], metric))
    for _, group in catalog.group_by("service", "region", maintain_order=True):
        if rng.random() >= config.anomaly_rate:
            continue
        start = midnight + timedelta(minutes=int(rng.integers(0, steps)) * config.interval_minutes)
        magnitude = float(rng.uniform(0.0, 1.0))
        end = start + timedelta(hours=1 + 3 * magnitude)
        events += [
            Anomaly(r, "service_outage", start, end, magnitude) for r in group["resource_id"]
        ]
    return events


def _active(e: Anomaly, times: np.ndarray) -> np.ndarray:
    return (times >= np.datetime64(e.start.replace(tzinfo=None))) & (
        times < np.datetime64(e.end.replace(tzinfo=None))
    )


def _anomaly_effects(
    events: list[Anomaly], index: dict[str, int], times: np.ndarray, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Multipliers on traffic and on CPU per request, and additive memory, per (resource,
    interval)."""
    traffic, cost = np.ones(shape), np.ones(shape)
    leak = np.zeros(shape)
    for e in events:
        active = _active(e, times)
        row = index[e.resource_id]
        if e.kind == "spike":
            traffic[row, active] *= 3.0 + 3.0 * e.magnitude
        elif e.kind == "level_shift":
            traffic[row, active] *= 1.8 + 0.7 * e.magnitude
        elif e.kind == "service_outage":
            traffic[row, active] *= 0.15 + 0.25 * e.magnitude
        elif e.kind == "deploy_shift":
            cost[row, active] *= 1.4 + 0.6 * e.magnitude
            leak[row, active] += 8.0 + 12.0 * e.magnitude
        elif e.kind == "slow_leak":
            elapsed = (times - np.datetime64(e.start.replace(tzinfo=None))) / np.timedelta64(1, "h")
            span = (e.end - e.start).total_seconds() / 3600
            leak[row, active] = 45.0 * (elapsed[active] / span)
    return traffic, cost, leak


def _stuck(
    events: list[Anomaly],
    index: dict[str, int],
    times: np.ndarray,
    series: dict[str, np.ndarray],
    typical: dict[str, np.ndarray],
) -> None:
    """Freeze each stuck metric at the resource's typical value (the same on every day the
    event spans, so a day simulated alone agrees with a range)."""
    for e in events:
        if e.kind == "stuck_metric" and e.metric in series:
            row = index[e.resource_id]
            series[e.metric][row, _active(e, times)] = typical[e.metric][row]


def simulate_day(
    config: SimulationConfig, day: date, catalog: pl.DataFrame | None = None
) -> SimulatedDay:
    catalog = resource_catalog(config) if catalog is None else catalog
    rng = np.random.default_rng([config.seed, day.toordinal(), 2])
    steps = 24 * 60 // config.interval_minutes
    start = np.datetime64(day.isoformat(), "m")
    times = start + np.arange(steps) * np.timedelta64(config.interval_minutes, "m")
    hours = (np.arange(steps) * config.interval_minutes) / 60.0
    n = catalog.height
    drifted = config.drift_start is not None and day >= config.drift_start

    peak = catalog["peak_hour"].to_numpy()[:, None].astype(float)
    load = catalog["load"].to_numpy()[:, None]
    affected = catalog["drift_affected"].to_numpy()[:, None]
    kind = config.drift_kind if drifted else None
    if kind in ("mix", "level"):
        load = np.where(affected, np.minimum(load * (1.7 if kind == "mix" else 1.5), 0.95), load)
    if kind in ("mix", "shape"):
        peak = np.where(affected, peak + 4.0, peak)
    daily = 1.0 + 0.6 * np.cos(2 * np.pi * (hours[None, :] - peak) / 24.0)
    weekend = day.weekday() >= 5
    weekend_factor = catalog["weekend_factor"].to_numpy()[:, None]
    if kind == "shape":
        weekend_factor = np.where(affected, np.minimum(weekend_factor + 0.3, 1.0), weekend_factor)
    weekly = weekend_factor if weekend else 1.0
    noise = catalog["noise"].to_numpy()[:, None] * rng.standard_normal((n, steps))

    events = [
        e
        for back in range(3)
        for e in _events_started_on(config, catalog, day - timedelta(days=back))
    ]
    index = {rid: i for i, rid in enumerate(catalog["resource_id"].to_list())}
    traffic_mult, cpu_mult, leak = _anomaly_effects(events, index, times, (n, steps))

    capacity = catalog["capacity_rps"].to_numpy()[:, None]
    rps = np.maximum(capacity * load * daily * weekly * (1 + noise) * traffic_mult, 0.0)
    seconds = config.interval_minutes * 60
    requests = rng.poisson(rps * seconds).astype(float)
    cpu = np.clip(
        3.0 + 90.0 * cpu_mult * rps / capacity + 2.0 * rng.standard_normal((n, steps)), 0, 100
    )
    memory_base = catalog["memory_base"].to_numpy()[:, None]
    if kind == "memory":
        memory_base = np.where(affected, memory_base + 20.0, memory_base)
    memory = np.clip(
        memory_base + 0.15 * cpu + leak + rng.normal(0, 1.5, (n, steps)),
        0,
        100,
    )
    bpr = catalog["bytes_per_request"].to_numpy()[:, None] * (1.5 if kind == "mix" else 1.0)
    bpr = np.where(affected, bpr, catalog["bytes_per_request"].to_numpy()[:, None])
    network = requests * bpr + rng.uniform(1e5, 5e5, (n, steps))
    inbound = network * 0.35
    outbound = network - inbound
    if config.more_anomaly_kinds:
        typical_rps = capacity[:, 0] * load[:, 0]
        typical = {
            "cpu_utilization": 3.0 + 90.0 * load[:, 0],
            "memory_utilization": memory_base[:, 0] + 0.15 * (3.0 + 90.0 * load[:, 0]),
            "request_count": np.round(typical_rps * seconds),
        }
        frozen = {
            "cpu_utilization": cpu,
            "memory_utilization": memory,
            "request_count": requests,
        }
        _stuck(events, index, times, frozen, typical)

    metrics = _long_metrics(
        catalog,
        times,
        {
            "cpu_utilization": (cpu, "Percent"),
            "memory_utilization": (memory, "Percent"),
            "network_in": (inbound, "Bytes"),
            "network_out": (outbound, "Bytes"),
            "request_count": (requests, "Count"),
        },
    )
    cost = _cost_lines(catalog, day, network.sum(axis=1))
    active = [
        e for e in events if e.start.date() <= day <= (e.end - timedelta(microseconds=1)).date()
    ]
    return SimulatedDay(day, metrics, cost, active, drifted)


def _long_metrics(
    catalog: pl.DataFrame, times: np.ndarray, series: dict[str, tuple[np.ndarray, str]]
) -> pl.DataFrame:
    n, steps = next(iter(series.values()))[0].shape
    ids = np.repeat(catalog["resource_id"].to_numpy(), steps)
    base = pl.DataFrame(
        {
            "timestamp": np.tile(times.astype("datetime64[us]"), n),
            "resource_id": ids,
            "namespace": np.repeat(
                [SERVICE_NAMES[s][2] for s in catalog["service"].to_list()], steps
            ),
            "region": np.repeat(catalog["region"].to_numpy(), steps),
            "service": np.repeat(catalog["service"].to_numpy(), steps),
            "reports_memory": np.repeat(catalog["reports_memory"].to_numpy(), steps),
        }
    ).with_columns(pl.col("timestamp").dt.replace_time_zone("UTC"))
    frames = []
    for name, (values, unit) in series.items():
        frame = base.with_columns(
            metric_name=pl.lit(name),
            value=pl.Series(values.reshape(-1)).round(4),
            unit=pl.lit(unit),
        )
        if name == "memory_utilization":
            frame = frame.filter("reports_memory")
        frames.append(frame.drop("reports_memory"))
    return pl.concat(frames).select(
        "timestamp", "resource_id", "metric_name", "value", "namespace", "region", "service", "unit"
    )


def _cost_lines(catalog: pl.DataFrame, day: date, bytes_out: np.ndarray) -> pl.DataFrame:
    start = datetime.combine(day, datetime.min.time(), UTC)
    price = np.array([INSTANCE_TYPES[t][1] for t in catalog["instance_type"].to_list()])
    gb = bytes_out / 1e9
    discount = catalog["discount"].to_numpy()
    services = catalog["service"].to_list()

    def lines(
        quantity: np.ndarray, unit: str, billed: np.ndarray, description: str
    ) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "ChargePeriodStart": [start.isoformat()] * catalog.height,
                "ChargePeriodEnd": [(start + timedelta(days=1)).isoformat()] * catalog.height,
                "BilledCost": np.round(billed, 6),
                "EffectiveCost": np.round(billed * (1 - discount), 6),
                "BillingCurrency": "USD",
                "ServiceName": [SERVICE_NAMES[s][0] for s in services],
                "ServiceCategory": [SERVICE_NAMES[s][1] for s in services],
                "ResourceId": catalog["resource_id"],
                "RegionId": catalog["region"],
                "SubAccountId": catalog["account_id"],
                "ConsumedQuantity": np.round(quantity, 6),
                "ConsumedUnit": unit,
                "ChargeCategory": "Usage",
                "ChargeDescription": description,
            }
        )

    return pl.concat(
        [
            lines(np.full(catalog.height, 24.0), "Hours", 24.0 * price, "instance hours"),
            lines(gb, "GB", gb * TRANSFER_PRICE_PER_GB, "data transfer"),
        ]
    )


def simulate(config: SimulationConfig, start: date, days: int) -> Iterator[SimulatedDay]:
    if days < 1:
        raise ValueError("days must be at least 1")
    catalog = resource_catalog(config)
    for offset in range(days):
        yield simulate_day(config, start + timedelta(days=offset), catalog)


def write_landing_day(result: SimulatedDay, root: Path, config: SimulationConfig) -> list[Path]:
    """Write one simulated day as landing files plus its labels file; returns the paths."""
    day = result.day.isoformat()
    metrics_path = root / "metrics" / day / "simulated.parquet"
    cost_path = root / "cost" / day / "simulated.csv"
    labels_path = root / "labels" / f"{day}.json"
    atomic_write(metrics_path, lambda p: result.metrics.write_parquet(p))
    atomic_write(cost_path, lambda p: result.cost.write_csv(p))
    labels = {
        "day": day,
        "config": {k: str(v) if isinstance(v, date) else v for k, v in asdict(config).items()},
        "drifted": result.drifted,
        "anomalies": [
            {
                "resource_id": a.resource_id,
                "kind": a.kind,
                "start": a.start.isoformat(),
                "end": a.end.isoformat(),
                "magnitude": round(a.magnitude, 4),
                **({"metric": a.metric} if a.metric else {}),
            }
            for a in result.anomalies
        ],
    }
    atomic_write(labels_path, lambda p: p.write_text(json.dumps(labels, indent=1)))
    return [metrics_path, cost_path, labels_path]


def read_labels(labels_file: Path, kinds: tuple[str, ...] = ("spike", "level_shift")) -> list[dict]:
    """The anomalies of a labels file that start on its day, with UTC datetimes."""
    labels = json.loads(labels_file.read_text())
    day = labels["day"]
    return [
        {
            "resource_id": a["resource_id"],
            "start": datetime.fromisoformat(a["start"]),
            "end": datetime.fromisoformat(a["end"]),
        }
        for a in labels["anomalies"]
        if a["start"].startswith(day) and a["kind"] in kinds
    ]
