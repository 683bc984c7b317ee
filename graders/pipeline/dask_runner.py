"""Run the same grading task on a Dask cluster (``--scheduler ADDRESS``).

Each submission is one ``task.grade_submission`` call on some worker; the course
material is scattered to the workers once. Results stream back to the caller, which
records them in the gradebook (one writer). Workers need this repository's
environment (``environment.yml``) and should run one task at a time per process
(``dask worker ADDRESS --nthreads 1``): each task runs a Jupyter kernel.
"""
from __future__ import annotations

from .model import Limits, PreparedAssignment, Submission
from .task import failure_result, grade_submission


def run_dask(address, tasks: list[Submission], prepared_by_id: dict[str, PreparedAssignment], limits: Limits):
    from distributed import Client, as_completed

    client = address if isinstance(address, Client) else Client(address)
    try:
        shipped = {aid: client.scatter(prepared, broadcast=True) for aid, prepared in prepared_by_id.items()}
        futures = {client.submit(grade_submission, shipped[sub.assignment], sub, limits, pure=False): sub
                   for sub in tasks}
        for future in as_completed(futures):
            sub = futures[future]
            try:
                yield future.result()
            except Exception as exc:  # a worker lost, or the task itself failed
                yield failure_result(sub, prepared_by_id[sub.assignment], "error",
                                     f"the Dask task failed: {type(exc).__name__}: {exc}"[:300])
    finally:
        if not isinstance(address, Client):
            client.close()
