"""The tests run against the package in this checkout."""

import sys
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parents[1]
REPO = PYTHON_DIR.parent
sys.path.insert(0, str(PYTHON_DIR))

pytest_plugins = ["faultmesh_client.pytest_plugin"]
