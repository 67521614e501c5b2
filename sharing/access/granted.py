"""Reads of the granted rows as prepared statements: the one door's query, compiled once per shape.

`GrantedQuery(refine)` is a read written as today, on top of `Measurement.objects.granted(decision)`:
`refine(granted, shape=..., **arguments)` narrows the granted rows (one id, a search's filters) and
returns the queryset to run. It is compiled by the ORM once per shape of the decision (how many
numbers the patient has, and per agreement its kinds and whether it looks back a limited time) and
of the refinement (`sharing.core.prepared`: a prepared statement, or with `server=False` planned
per call); the decision's
patient numbers, municipalities and look-back starts, and the refinement's arguments, are its
parameters. So the door is the same door: the rows come from `granted()` of a decision built from
the real one's values, and the compile-twice check refuses any value that is not a parameter.

`GrantedQuery.read(pick, shape, **arguments)` makes the `gather` that `read_patient` takes;
`objects` and `dicts` run it for a decision directly.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import router
from django.db.models import QuerySet

from sharing.core.prepared import Prepared
from sharing.measurements.models import Measurement

from .decision import Decision, Scope

T = TypeVar("T")

# Argument names the decision's values take; a refinement's own arguments must not start with "grant_".
_PREFIX = "grant_"


@dataclass(frozen=True)
class _StandInGrant:
    """A granted decision made of a compiled query's arguments (what `granted()` reads of one)."""

    numbers: tuple[str, ...]
    scopes: tuple[Scope, ...]
    granted: bool = True

    @property
    def patient(self) -> str:
        return self.numbers[0]


class GrantedQuery:
    """`refine` on the granted rows (with `withdrawn`, also the withdrawn ones, as `granted()` says);
    `server`: prepared on the server, or compiled once and planned per call (`Prepared`);
    `numbers`: `refine` also takes the patient's numbers (as parameters, like everything else)."""

    def __init__(
        self,
        refine: Callable[..., QuerySet[Any, Any]],
        *,
        withdrawn: bool = False,
        server: bool = True,
        numbers: bool = False,
    ) -> None:
        self._refine = refine
        self.withdrawn = withdrawn
        self._numbers = numbers  # refine also takes `numbers`: the patient's numbers, as parameters
        self._prepared = Prepared(self._build, server=server)

    def _build(
        self, *, shape: tuple[int, tuple[tuple[tuple[str, ...] | None, bool], ...], Hashable], **values: Any
    ) -> Any:
        count, scopes, refined = shape
        grant = _StandInGrant(
            numbers=tuple(values[f"{_PREFIX}number{i}"] for i in range(count)),
            scopes=tuple(
                Scope(
                    agreement_id=0,  # not read by granted()
                    municipality=values[f"{_PREFIX}municipality{j}"],
                    kinds=frozenset(kinds) if kinds is not None else None,
                    since=values[f"{_PREFIX}since{j}"] if limited else None,
                )
                for j, (kinds, limited) in enumerate(scopes)
            ),
        )
        own = {name: value for name, value in values.items() if not name.startswith(_PREFIX)}
        if self._numbers:
            own["numbers"] = grant.numbers
        return self._refine(Measurement.objects.granted(grant, withdrawn=self.withdrawn), shape=refined, **own)

    def objects(self, decision: Decision, shape: Hashable = None, **arguments: Any) -> list[Measurement]:
        """The rows a granted `decision` lets its actor see, refined; none for a denied one."""
        if not decision.granted or not decision.patient:
            return []
        full_shape, values, using = self._parameters(decision, shape, arguments)
        return list(self._prepared.objects(full_shape, using=using, **values))

    def dicts(self, decision: Decision, shape: Hashable = None, **arguments: Any) -> list[dict[str, Any]]:
        """The same for a refinement that ends in `values()`: the ORM's dicts."""
        if not decision.granted or not decision.patient:
            return []
        full_shape, values, using = self._parameters(decision, shape, arguments)
        return self._prepared.dicts(full_shape, using=using, **values)

    def rows(self, decision: Decision, shape: Hashable = None, **arguments: Any) -> list[tuple[Any, ...]]:
        """The same for a refinement that ends in `values_list()`: tuples."""
        if not decision.granted or not decision.patient:
            return []
        full_shape, values, using = self._parameters(decision, shape, arguments)
        return self._prepared.rows(full_shape, using=using, **values)

    def _parameters(
        self, decision: Decision, shape: Hashable, arguments: dict[str, Any]
    ) -> tuple[Hashable, dict[str, Any], str]:
        if any(name.startswith(_PREFIX) for name in arguments):
            raise TypeError(f"a refinement's arguments must not start with {_PREFIX!r}")
        values: dict[str, Any] = {f"{_PREFIX}number{i}": number for i, number in enumerate(decision.numbers)}
        scopes = []
        for j, scope in enumerate(decision.scopes):
            values[f"{_PREFIX}municipality{j}"] = scope.municipality
            if scope.since is not None:
                values[f"{_PREFIX}since{j}"] = scope.since
            scopes.append((tuple(sorted(scope.kinds)) if scope.kinds is not None else None, scope.since is not None))
        values.update(arguments)
        # Where on_standby (sharing.core.replica) sends this read, as the ORM's router would.
        return (len(decision.numbers), tuple(scopes), shape), values, router.db_for_read(Measurement)

    def read(self, pick: Callable[[list[Measurement]], T], shape: Hashable = None, **arguments: Any) -> GrantedRead[T]:
        """The `gather` for `read_patient`: these rows for the decision, then `pick(rows)`."""
        return GrantedRead(self, shape, arguments, pick)


@dataclass(frozen=True)
class GrantedRead(Generic[T]):
    query: GrantedQuery
    shape: Hashable
    arguments: dict[str, Any]
    pick: Callable[[list[Measurement]], T]

    def __call__(self, decision: Decision) -> T:
        return self.pick(self.query.objects(decision, self.shape, **self.arguments))


__all__ = ["GrantedQuery", "GrantedRead"]
