"""Runs many single-scenario solves in this process or on the shared Dask client.

Scenario instances are sent to the workers once (`share`) and referred to by index after, so a
candidate's evaluation in every scenario ships only the commitments. Results arrive as they
finish (`as_completed`), which lets the decomposition prune a candidate early.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

from siteopt.data.instance import Instance
from siteopt.solver.cluster import dask_client, share


class ScenarioPool:
    """Scenario solves in parallel, each result as it finishes.

    `run(fn, tasks)` yields (task index, value) of fn(instance, *args); `run_groups` likewise
    of fn(list of instances, *args).
    """

    def __init__(self, instances: Sequence[Instance], workers: int | None = 0,
                 scheduler: str | None = None):
        self.instances = list(instances)
        self.workers = workers
        self.scheduler = scheduler
        self._stack = contextlib.ExitStack()
        self._client: object | None = None
        self._remote: list[object] = []

    def __enter__(self) -> ScenarioPool:
        if self.scheduler is not None or (self.workers or 0) > 0:
            # a stop (Ctrl-C) between starting the cluster and returning never reaches
            # __exit__: close the cluster here, not in distributed's exit hook
            with self._stack.pop_all() as stack:
                self._client = stack.enter_context(dask_client(self.workers, self.scheduler))
                self._remote = [share(self._client, inst) for inst in self.instances]
                self._stack = stack.pop_all()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    @property
    def parallel(self) -> bool:
        """Whether tasks run on Dask."""
        return self._client is not None

    def add(self, inst: Instance) -> int:
        """Register one more instance (e.g. the mean-value one); returns its index."""
        self.instances.append(inst)
        if self._client is not None:
            self._remote.append(share(self._client, inst))
        return len(self.instances) - 1

    def run(self, fn: Callable[..., object], tasks: Sequence[tuple[int, tuple]]
            ) -> Iterator[tuple[int, object]]:
        """fn(instances[i], *args) for each (i, args); yields (task position, value)."""
        if self._client is None:
            for pos, (i, args) in enumerate(tasks):
                yield pos, fn(self.instances[i], *args)
            return
        yield from self._as_completed(
            [(fn, self._remote[i], args) for i, args in tasks])

    def run_groups(self, fn: Callable[..., object],
                   tasks: Sequence[tuple[Sequence[int], tuple]]
                   ) -> Iterator[tuple[int, object]]:
        """fn([instances[i] for i in group], *args) for each (group, args), as `run` does."""
        if self._client is None:
            for pos, (group, args) in enumerate(tasks):
                yield pos, fn([self.instances[i] for i in group], *args)
            return
        yield from self._as_completed(
            [(fn, [self._remote[i] for i in group], args) for group, args in tasks])

    def _as_completed(self, calls: list[tuple[Callable[..., object], object, tuple]]
                      ) -> Iterator[tuple[int, object]]:
        from distributed import as_completed

        client = self._client
        futures = {client.submit(fn, first, *args, pure=False): pos  # type: ignore[attr-defined]
                   for pos, (fn, first, args) in enumerate(calls)}
        seq = as_completed(list(futures))
        try:
            for fut in seq:
                value = fut.result()
                pos = futures[fut]
                fut.release()
                yield pos, value
        finally:
            for fut in futures:
                if not fut.done():
                    fut.cancel()
