"""Fixtures shared by every test suite; each service's fixtures live in tests/fixtures/."""

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
