"""A service's projections, by name (what `crm projections` and the consumers run)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from crm_shared.projections.projection import Projection


class Projections(Mapping[str, Projection]):
    """The projections a service maintains. Each name is its consumer's identity (its
    stored offsets and versions), so two projections of one service never share one."""

    def __init__(self, *projections: Projection) -> None:
        self._by_name: dict[str, Projection] = {}
        for projection in projections:
            if projection.name in self._by_name:
                raise ValueError(f"two projections are named {projection.name!r}")
            if not projection.handles:
                raise ValueError(f"projection {projection.name!r} handles no event type")
            self._by_name[projection.name] = projection

    def __getitem__(self, name: str) -> Projection:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)
