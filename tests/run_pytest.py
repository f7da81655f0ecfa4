#!/usr/bin/env python3
"""Runs pytest for a CTest entry: python3 tests/run_pytest.py [PYTEST ARGUMENT...].

Quiet, no cache directory, the reason of every skipped test printed (-rs), and exit 77 (the entries'
SKIP_RETURN_CODE) when no test passed and at least one was skipped: an entry whose tests were all skipped (no
network namespace in a chroot, a tool missing) is reported by CTest as skipped, never as passed."""
import os
import sys

# As with python3 -m pytest: the working directory on the path, not this script's (tests/, whose folders
# would shadow modules of the same name).
sys.path[0] = os.getcwd()

import pytest  # noqa: E402


class Outcomes:
    def __init__(self):
        self.passed, self.skipped = set(), {}

    def pytest_runtest_logreport(self, report):
        if report.skipped and not hasattr(report, "wasxfail"):
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            self.skipped[report.nodeid] = reason.removeprefix("Skipped: ")
        elif report.when == "call" and (report.passed or hasattr(report, "wasxfail")):
            self.passed.add(report.nodeid)


def main(arguments):
    outcomes = Outcomes()
    status = pytest.main(["-q", "-rs", "-p", "no:cacheprovider", *arguments], plugins=[outcomes])
    if status == 0 and outcomes.skipped and not outcomes.passed:
        reasons = sorted(set(outcomes.skipped.values()))
        print(f"SKIPPED: all {len(outcomes.skipped)} test(s) skipped: " + "; ".join(reasons))
        return 77
    return int(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
