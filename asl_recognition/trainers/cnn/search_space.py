"""HyperDrive-style search spaces, parsed once into plain data, Optuna and Azure forms.

A space maps script arguments to HyperDrive parameter expressions, written as in the Azure SDK
(``"choice(50, 100)"``) or as a one-key mapping (``{"choice": [50, 100]}``)::

    --hidden: choice(50, 100, 200, 300)
    --learning_rate: loguniform(-9, -4)     # exp(uniform(-9, -4)), as in HyperDrive
    --dropout: uniform(0.1, 0.5)
    --batch_size: quniform(32, 256, 32)
    --warmup_epochs: randint(3)             # 0, 1 or 2

:meth:`ParameterExpression.optuna_distribution` gives the Optuna distribution with the same
semantics; :meth:`SearchSpace.to_hyperdrive` gives ``{"--name": (kind, [args])}`` that the Azure
backend turns into ``azureml.train.hyperdrive`` objects (``getattr(hyperdrive, kind)(*args)``).

>>> space = SearchSpace.parse({"--hidden": "choice(50, 100)", "--dropout": {"uniform": [0.1, 0.5]}})
>>> space.to_hyperdrive()
{'--hidden': ('choice', [50, 100]), '--dropout': ('uniform', [0.1, 0.5])}
>>> space.names()
['hidden', 'dropout']
"""

from __future__ import annotations

import ast
import dataclasses
import math
import re
from collections.abc import Mapping
from typing import Any

from asl_recognition.errors import ConfigurationError

__all__ = ["KINDS", "ParameterExpression", "SearchSpace"]

#: supported expression kinds and their number of arguments (None: any number >= 1)
KINDS: dict[str, int | None] = {"choice": None, "uniform": 2, "loguniform": 2, "quniform": 3,
                                "randint": 1}

_EXPR = re.compile(r"^\s*([a-z_]+)\s*\((.*)\)\s*$", re.DOTALL)


@dataclasses.dataclass(frozen=True)
class ParameterExpression:
    """One HyperDrive parameter expression, e.g. ``choice(50, 100)``."""

    kind: str
    args: tuple[Any, ...]

    @classmethod
    def parse(cls, value: Any, *, name: str = "parameter") -> ParameterExpression:
        """Parse ``"kind(args)"`` or ``{kind: [args]}``; errors name the parameter."""
        if isinstance(value, Mapping):
            if len(value) != 1:
                raise ConfigurationError(f"{name}: expected one key (the kind), got {sorted(value)}")
            kind, raw = next(iter(value.items()))
            args = tuple(raw) if isinstance(raw, (list, tuple)) else (raw,)
        elif isinstance(value, str):
            match = _EXPR.match(value)
            if match is None:
                raise ConfigurationError(f"{name}: {value!r} is not of the form kind(arguments)")
            kind = match.group(1)
            parsed: Any
            try:
                parsed = ast.literal_eval(f"({match.group(2)},)") if match.group(2).strip() else ()
            except (ValueError, SyntaxError) as exc:
                raise ConfigurationError(f"{name}: cannot parse the arguments of {value!r}") from exc
            # choice([a, b]) and choice(a, b) are both HyperDrive spellings
            args = tuple(parsed[0]) if len(parsed) == 1 and isinstance(parsed[0], list) else tuple(parsed)
        else:
            raise ConfigurationError(f"{name}: expected 'kind(args)' or a mapping, got {value!r}")
        return cls.create(str(kind), args, name=name)

    @classmethod
    def create(cls, kind: str, args: tuple[Any, ...], *, name: str = "parameter") -> ParameterExpression:
        """Validate ``kind`` and its arguments."""
        if kind not in KINDS:
            raise ConfigurationError(f"{name}: unknown expression {kind!r}; supported: {', '.join(KINDS)}")
        want = KINDS[kind]
        if (want is None and not args) or (want is not None and len(args) != want):
            raise ConfigurationError(f"{name}: {kind} takes {want or 'one or more'} arguments, got {list(args)}")
        if kind == "choice":
            if not all(isinstance(a, (int, float, str, bool)) for a in args):
                raise ConfigurationError(f"{name}: choice values must be numbers or strings, got {list(args)}")
        else:
            if not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args):
                raise ConfigurationError(f"{name}: {kind} arguments must be numbers, got {list(args)}")
            if kind in ("uniform", "loguniform", "quniform") and not args[0] < args[1]:
                raise ConfigurationError(f"{name}: {kind} needs low < high, got {list(args)}")
            if kind == "quniform" and args[2] <= 0:
                raise ConfigurationError(f"{name}: quniform step q must be > 0, got {args[2]}")
            if kind == "randint" and (int(args[0]) != args[0] or args[0] < 1):
                raise ConfigurationError(f"{name}: randint upper must be an integer >= 1, got {args[0]}")
        return cls(kind, tuple(args))

    def optuna_distribution(self) -> Any:
        """The equivalent ``optuna.distributions`` object."""
        from optuna import distributions as d

        a = self.args
        if self.kind == "choice":
            return d.CategoricalDistribution(list(a))
        if self.kind == "uniform":
            return d.FloatDistribution(float(a[0]), float(a[1]))
        if self.kind == "loguniform":  # HyperDrive: exp(uniform(low, high))
            return d.FloatDistribution(math.exp(a[0]), math.exp(a[1]), log=True)
        if self.kind == "quniform":  # round(uniform(low, high) / q) * q
            q = a[2]
            low, high = math.ceil(a[0] / q) * q, math.floor(a[1] / q) * q
            if all(float(x).is_integer() for x in a):
                return d.IntDistribution(int(low), int(high), step=int(q))
            return d.FloatDistribution(float(low), float(high), step=float(q))
        return d.IntDistribution(0, int(a[0]) - 1)  # randint(upper): 0 .. upper - 1


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """An ordered mapping of parameter name (without ``--``) to expression."""

    parameters: tuple[tuple[str, ParameterExpression], ...]

    @classmethod
    def parse(cls, space: Mapping[str, Any], *, allowed: list[str] | None = None) -> SearchSpace:
        """Parse ``{"--name": expression}``; ``allowed`` lists the accepted names."""
        if not isinstance(space, Mapping) or not space:
            raise ConfigurationError(f"a search space must be a non-empty mapping, got {space!r}")
        params = []
        for raw_name, value in space.items():
            name = str(raw_name).removeprefix("--")
            if allowed is not None and name not in allowed:
                raise ConfigurationError(
                    f"search space parameter {raw_name!r} is not a training argument; "
                    f"accepted: {', '.join(allowed)}"
                )
            params.append((name, ParameterExpression.parse(value, name=str(raw_name))))
        return cls(tuple(params))

    def names(self) -> list[str]:
        """Parameter names, without the ``--`` prefix."""
        return [n for n, _ in self.parameters]

    def optuna_distributions(self) -> dict[str, Any]:
        """``{name: optuna distribution}``."""
        return {n: e.optuna_distribution() for n, e in self.parameters}

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Sample one configuration through an Optuna trial."""
        from optuna import distributions as d

        out: dict[str, Any] = {}
        for name, dist in self.optuna_distributions().items():
            if isinstance(dist, d.CategoricalDistribution):
                out[name] = trial.suggest_categorical(name, dist.choices)
            elif isinstance(dist, d.IntDistribution):
                out[name] = trial.suggest_int(name, dist.low, dist.high, step=dist.step)
            else:
                out[name] = trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
        return out

    def to_hyperdrive(self) -> dict[str, tuple[str, list[Any]]]:
        """Plain ``{"--name": (kind, [args])}`` for ``azureml.train.hyperdrive``."""
        return {f"--{n}": (e.kind, list(e.args)) for n, e in self.parameters}
