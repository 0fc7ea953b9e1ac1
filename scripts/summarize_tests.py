"""Sum the results of every test stage into the one closing line CI reads: "N passed, N failed".

A stage whose result file is missing counts as one failure, so a runner that crashed cannot pass.
"""

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def lint(results: Path) -> tuple[int, int]:
    lines = (results / "checks.txt").read_text().split()
    verdicts = lines[1::2]
    return verdicts.count("pass"), verdicts.count("fail")


def jest(results: Path) -> tuple[int, int]:
    report = json.loads((results / "jest.json").read_text())
    failed = report["numFailedTests"] + report.get("numRuntimeErrorTestSuites", 0)
    return report["numPassedTests"], failed


def junit(path: Path) -> tuple[int, int]:
    suites = ET.parse(path).getroot()
    passed = failed = 0
    for suite in suites.iter("testsuite"):
        tests, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
        bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        passed += tests - skipped - bad
        failed += bad
    return passed, failed


def pytest(results: Path) -> tuple[int, int]:
    return junit(results / "pytest.xml")


def testbed(results: Path) -> tuple[int, int]:
    parts = [junit(results / f"testbed-{part}.xml") for part in ("identity", "events")]
    return sum(p for p, _ in parts), sum(f for _, f in parts)


def _playwright(path: Path) -> tuple[int, int]:
    stats = json.loads(path.read_text())["stats"]
    return stats["expected"], stats["unexpected"] + stats.get("flaky", 0)


def playwright(results: Path) -> tuple[int, int]:
    return _playwright(results / "playwright.json")


def playwright_hub(results: Path) -> tuple[int, int]:
    return _playwright(results / "playwright-hub.json")


def main() -> int:
    results = Path(sys.argv[1])
    total_passed = total_failed = 0
    for stage in (lint, jest, pytest, testbed, playwright_hub, playwright):
        try:
            passed, failed = stage(results)
        except (OSError, ValueError, KeyError, ET.ParseError) as error:
            print(f"{stage.__name__}: no usable results ({error})")
            passed, failed = 0, 1
        print(f"{stage.__name__}: {passed} passed, {failed} failed")
        total_passed += passed
        total_failed += failed
    if total_passed == 0:
        total_failed = max(total_failed, 1)
    print(f"{total_passed} passed, {total_failed} failed")
    return 1 if total_failed else 0


if __name__ == "__main__":
    sys.exit(main())
