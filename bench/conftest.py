import pytest

pytest.importorskip("pytest_benchmark")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config):
    """Benchmarks run in one process: the test configuration's `-n auto` (pytest-xdist) would
    share the cores between timed runs, and pytest-benchmark disables itself under xdist."""
    return 0
