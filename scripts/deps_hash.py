"""Print a short hash of the dependencies pyproject.toml declares (runtime and extras), nothing else of the file.

requirements.lock records it on its first line (``make lock``); scripts/bootstrap.sh compares, so a dependency
added without regenerating the lock stops the install with the fix instead of installing something unlocked.
"""

import hashlib
import json
import sys
import tomllib
from pathlib import Path

project = tomllib.loads(Path(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml").read_text())["project"]
declared = [project.get("dependencies", []), project.get("optional-dependencies", {})]
print(hashlib.sha256(json.dumps(declared, sort_keys=True).encode()).hexdigest()[:16])
