"""Fixtures shared by every test suite; each service's fixtures live in tests/fixtures/."""

import pytest

pytest_plugins = [
    "tests.fixtures.s3",
    "tests.fixtures.services",
    "tests.fixtures.workers",
    "tests.fixtures.app",
    "tests.fixtures.photos",
    "tests.fixtures.documents",
    "tests.fixtures.videos",
    "tests.fixtures.web",
    "tests.fixtures.browser",
    "tests.fixtures.serve",
]


#: tests that read or change Redis state another xdist worker's test could see or disturb
#: (heartbeats counted by /readyz, messages consumed by real worker processes)
SHARED_REDIS_FIXTURES = {"start_worker", "heartbeats", "live_worker", "broker_redis"}
#: modules kept with those tests too: readiness counts their heartbeats; the bench's scratch
#: databases are dropped on the server the recovery tests cut off, and a DROP DATABASE waits
#: for every backend, one blocked writing to a client the cut froze included (seen in CI past
#: the interrupted bench's 60 s; reproduced by hand: 37 s behind a stalled COPY's reader)
SHARED_REDIS_MODULES = ("/test_readiness.py", "/test_bench_postgres.py")
#: session-wide servers worth starting once a run rather than once per xdist worker
SHARED_SERVERS = {"chromium", "seaweedfs_s3_endpoint", "moto_s3_endpoint"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``pytest -n N --dist loadgroup``, keep together on one worker what must not run
    at once (the shared Redis state), what shares a costly fixture (a module's, a server),
    and let every other test go where a worker is free."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        definitions = getattr(item, "_fixtureinfo", None)
        scopes = {
            fixture.scope
            for fixtures in (definitions.name2fixturedefs.values() if definitions else ())
            for fixture in fixtures
        }
        module = item.nodeid.split("::")[0]
        if names & SHARED_REDIS_FIXTURES or module.endswith(SHARED_REDIS_MODULES):
            group = "shared-redis"
        elif "module" in scopes:
            group = module
        elif names & SHARED_SERVERS:
            group = "servers"
        else:
            continue
        item.add_marker(pytest.mark.xdist_group(group))
