"""A sweep: a grid of run configurations over built-in problems, methods, noise, data and seeds.

A configuration is a flat dict of JSON values. Its keys are the run's own settings

    problem, method, noise, n_data, seed, data_seed, steps

and dotted keys for everything else: ``problem.<argument>`` (the built-in's arguments, e.g.
``problem.D_true``), ``model.<keyword>`` (model options, e.g. ``model.hidden``) and
``fit.<keyword>`` (fit options, e.g. ``fit.lr``). Anything not given comes from the problem's
recipe (:data:`pinnbilo.compare.RECIPES`); ``data_seed`` defaults to ``seed``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Sequence

from ..errors import InputError

RUN_KEYS = ("problem", "method", "noise", "n_data", "seed", "data_seed", "steps")
PREFIXES = ("problem.", "model.", "fit.")
METHODS = ("PINN", "BiLO")
MAX_RUNS = 1_000_000


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not (
        key in RUN_KEYS or (key.startswith(PREFIXES) and "." not in key.split(".", 1)[1])
    ):
        raise InputError(
            f"sweep: unknown setting {key!r}; use {', '.join(RUN_KEYS)}, or problem.<argument>, "
            "model.<keyword>, fit.<keyword>"
        )
    return key


def _json_value(key: str, value: object) -> object:
    """A value as JSON would hold it (tuples become lists), refused when JSON cannot hold it."""
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputError(f"sweep: the value of {key!r} must be a number, string, bool or list of them: {exc}") from None
    return json.loads(text)


def flatten(settings: Mapping[str, object], prefix: str = "") -> Dict[str, object]:
    """``{"fit": {"lr": 1e-3}}`` (TOML tables) as ``{"fit.lr": 1e-3}``."""
    out: Dict[str, object] = {}
    for k, v in settings.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def run_id(config: Mapping[str, object]) -> str:
    """A stable name of a configuration: the first 16 hex digits of the SHA-1 of its sorted JSON."""
    text = json.dumps(dict(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


@dataclass
class Sweep:
    """Every combination of the ``grid`` values, each with the ``fixed`` settings.

    grid : setting -> list of values (each list a dimension of the grid); fixed : setting -> one
    value. Keys as in the module docstring; nested dicts (TOML tables) are flattened to dotted keys.
    name : what the results are called. Example::

        Sweep(grid={"problem": ["poisson"], "method": ["PINN", "BiLO"], "noise": [0.0, 0.01],
                    "seed": [1, 2, 3]}, fixed={"steps": 2000})
    """

    grid: Dict[str, Sequence[object]] = field(default_factory=dict)
    fixed: Dict[str, object] = field(default_factory=dict)
    name: str = "sweep"

    def __post_init__(self) -> None:
        if not isinstance(self.grid, Mapping) or not isinstance(self.fixed, Mapping):
            raise InputError("sweep: grid and fixed must be mappings {setting: values}")
        if not isinstance(self.name, str) or not self.name:
            raise InputError(f"sweep: name must be a non-empty string, got {self.name!r}")
        grid = flatten(self.grid)
        fixed = flatten(self.fixed)
        for key, values in grid.items():
            _check_key(key)
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
                raise InputError(f"sweep: grid[{key!r}] must be a non-empty list of values, got {values!r}")
            grid[key] = [_json_value(key, v) for v in values]
        for key, value in fixed.items():
            _check_key(key)
            fixed[key] = _json_value(key, value)
        both = sorted(set(grid) & set(fixed))
        if both:
            raise InputError(f"sweep: {both} given both in grid and in fixed; give each setting once")
        missing = [k for k in ("problem", "method") if k not in grid and k not in fixed]
        if missing:
            raise InputError(f"sweep: say which {' and '.join(missing)} to run (in grid or fixed)")
        total = _count(grid)
        if total > MAX_RUNS:
            raise InputError(f"sweep: {total} runs is over the limit of {MAX_RUNS}; split the sweep")
        self.grid, self.fixed = grid, fixed  # type: ignore[assignment]
        for config in self.configurations():
            _check_config(config)

    def configurations(self) -> List[Dict[str, Any]]:
        """One dict per run, in grid order (the last grid key varies fastest), each with its ``run_id``."""
        keys = list(self.grid)
        out = []
        for combo in itertools.product(*(self.grid[k] for k in keys)):
            config: Dict[str, Any] = {**self.fixed, **dict(zip(keys, combo))}
            config.setdefault("noise", 0.0)
            config.setdefault("seed", 0)
            config.setdefault("data_seed", config["seed"])
            config["run_id"] = run_id(config)
            out.append(config)
        return out

    def __len__(self) -> int:
        return _count(self.grid)

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> "Sweep":
        """From ``{"name": ..., "grid": {...}, "fixed": {...}}`` (the TOML file's layout)."""
        unknown = sorted(set(d) - {"name", "grid", "fixed"})
        if unknown:
            raise InputError(f"sweep spec: unknown sections {unknown}; use name, [grid] and [fixed]")
        return cls(grid=dict(d.get("grid", {})), fixed=dict(d.get("fixed", {})), name=str(d.get("name", "sweep")))  # type: ignore[call-overload]

    @classmethod
    def from_toml(cls, path: str) -> "Sweep":
        """Read a spec file::

        name = "noise-study"
        [grid]
        problem = ["poisson", "fisher_kpp"]
        method = ["PINN", "BiLO"]
        noise = [0.0, 0.01, 0.1]
        seed = [1, 2, 3, 4, 5]
        [fixed]
        fit.lr = 1e-3
        """
        try:
            import tomllib  # type: ignore[import-not-found, unused-ignore]  # Python >= 3.11
        except ModuleNotFoundError:  # pragma: no cover - Python 3.9, 3.10
            try:
                import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]
            except ModuleNotFoundError:
                raise InputError("reading TOML sweep specs needs Python >= 3.11 or `pip install tomli`") from None
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise InputError(f"cannot read the sweep spec {path!r}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"the sweep spec {path!r} is not valid TOML: {exc}") from None
        return cls.from_dict(data)


def _count(grid: Mapping[str, object]) -> int:
    """The number of runs of a grid: the product of its lists' lengths."""
    total = 1
    for values in grid.values():
        total *= len(values)  # type: ignore[arg-type]  # lists, checked by Sweep
    return total


def _check_config(config: Mapping[str, object]) -> None:
    """What can be checked before a run starts: names of problems and methods, numbers' ranges."""
    from ..compare import RECIPES

    problem, method = config.get("problem"), config.get("method")
    if problem not in RECIPES:
        raise InputError(f"sweep: unknown problem {problem!r}; built-in problems: {', '.join(sorted(RECIPES))}")
    if method not in METHODS:
        raise InputError(f"sweep: method must be 'PINN' or 'BiLO', got {method!r}")
    noise = config.get("noise", 0.0)
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise < 10:
        raise InputError(f"sweep: noise must be a number in [0, 10), got {noise!r}")
    for key in ("seed", "data_seed", "n_data", "steps"):
        v = config.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise InputError(f"sweep: {key} must be a non-negative integer, got {v!r}")
