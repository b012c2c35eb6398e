"""Forking a warm Snakemake: what a child must renew."""

import os


def _fresh_lock_pool() -> None:
    # RemoteExecutor takes its lock through async_lock(), which runs lock.acquire
    # in a module-level ThreadPoolExecutor. A child forked from a process that
    # already used it inherits a pool whose threads do not exist: the acquire never
    # runs and shutdown() hangs for ever. Each child gets a fresh pool.
    import concurrent.futures

    from snakemake_interface_executor_plugins import utils

    utils._pool = concurrent.futures.ThreadPoolExecutor()


def renew_lock_pool_after_fork() -> None:
    os.register_at_fork(after_in_child=_fresh_lock_pool)
