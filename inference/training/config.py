"""What a training run is asked to do: one frozen dataclass, saved inside every checkpoint.

Defaults per architecture are the papers' own where they say (CaHDC-RGA: Adam 0.9 / 0.999 /
1e-8 with lr = max(1e-3 * 0.8^(0.01 t), 3e-5), 768 x 512 input, random patches; the MRI paper:
512 x 512 slices); where they are silent the choice is ours and marked so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from inference.nets import DEFAULT_INPUT_SIZE

ARCHITECTURES = ("cahdc-rga", "convnet4", "resnet10", "iqm-linear")
TARGETS = ("regression", "binary", "category")
BALANCING = ("none", "weights", "sampler")

# Not in the papers: epochs and batch sizes a 2-core CPU can afford; a GPU host raises them.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "cahdc-rga": {"epochs": 30, "batch_size": 8, "lr": 1e-3, "schedule": "cahdc", "patches": True},
    "convnet4": {"epochs": 30, "batch_size": 16, "lr": 1e-3, "schedule": "constant"},
    "resnet10": {"epochs": 30, "batch_size": 16, "lr": 1e-3, "schedule": "constant"},
    "iqm-linear": {"epochs": 1, "batch_size": 1, "lr": 0.0, "schedule": "constant"},
}
# IQM metrics are computed on the display image at this size (the head-CT route has no net).
IQM_INPUT_SIZE = (512, 512)


class ConfigError(ValueError):
    """A config that cannot train; the message names the field."""


@dataclass(frozen=True)
class TrainConfig:
    arch: str
    target: str = "regression"
    input_width: int = 512
    input_height: int = 512
    epochs: int = 30
    batch_size: int = 16
    lr: float = 1e-3
    # "cahdc": the chest paper's exponential decay to a floor (inference/schedule.py);
    # "constant": Adam at `lr` throughout.
    schedule: str = "constant"
    weight_decay: float = 0.0
    dropout: float = 0.0
    seed: int = 0
    # CaHDC-RGA trains on random patches of each image (the paper); others on whole images.
    patches: bool = False
    augment: dict[str, float] = field(default_factory=dict)  # flip, rotate_deg, intensity, crop
    # Class imbalance (the MRI paper's lesson): weighted loss, or a balanced sampler.
    balance: str = "none"
    n_classes: int = 1  # outputs: 1 for regression, k logits for k classes (2 for binary)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def input_size(self) -> tuple[int, int]:
        return (self.input_width, self.input_height)

    @property
    def n_outputs(self) -> int:
        return 1 if self.target == "regression" else self.n_classes


def default_config(arch: str, target: str = "regression", **overrides: Any) -> TrainConfig:
    """The papers' defaults for `arch`, with `overrides` (None values ignored), checked."""
    if arch not in ARCHITECTURES:
        raise ConfigError(f"arch: unknown architecture {arch!r}; choose from {ARCHITECTURES}")
    width, height = DEFAULT_INPUT_SIZE.get(arch, IQM_INPUT_SIZE)
    base = TrainConfig(arch=arch, target=target, input_width=width, input_height=height)
    base = replace(base, **_DEFAULTS[arch])
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = sorted(set(given) - {f.name for f in fields(TrainConfig)})
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
    try:
        config = replace(base, **given)
    except TypeError as exc:
        raise ConfigError(str(exc)) from None
    check(config)
    return config


def check(config: TrainConfig) -> None:
    """Refuse a config that cannot train, naming the field."""
    if config.target not in TARGETS:
        raise ConfigError(f"target: choose from {TARGETS}")
    if config.arch == "cahdc-rga" and config.target != "regression":
        raise ConfigError("target: CaHDC-RGA is a regressor (target regression)")
    if config.arch == "iqm-linear" and config.target != "regression":
        raise ConfigError("target: the IQM linear regression predicts a score (target regression)")
    checks = [
        ("input_width", 16 <= config.input_width <= 4096, "between 16 and 4096"),
        ("input_height", 16 <= config.input_height <= 4096, "between 16 and 4096"),
        ("epochs", 1 <= config.epochs <= 1000, "between 1 and 1000"),
        ("batch_size", 1 <= config.batch_size <= 512, "between 1 and 512"),
        ("lr", 0 <= config.lr <= 1, "between 0 and 1"),
        ("weight_decay", 0 <= config.weight_decay <= 1, "between 0 and 1"),
        ("dropout", 0 <= config.dropout < 1, "in [0, 1)"),
        ("seed", 0 <= config.seed < 2**31, "between 0 and 2^31 - 1"),
        ("balance", config.balance in BALANCING, f"one of {BALANCING}"),
        ("schedule", config.schedule in ("cahdc", "constant"), "cahdc or constant"),
    ]
    for name, ok, rule in checks:
        if not ok:
            raise ConfigError(f"{name}: must be {rule} (got {getattr(config, name)!r})")
    allowed = {"flip", "rotate_deg", "intensity", "crop"}
    if not isinstance(config.augment, dict) or set(config.augment) - allowed:
        raise ConfigError(f"augment: an object with keys among {sorted(allowed)}")
