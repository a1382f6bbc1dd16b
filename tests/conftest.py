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
        if names & SHARED_REDIS_FIXTURES or module.endswith("/test_readiness.py"):
            group = "shared-redis"
        elif "module" in scopes:
            group = module
        elif names & SHARED_SERVERS:
            group = "servers"
        else:
            continue
        item.add_marker(pytest.mark.xdist_group(group))
