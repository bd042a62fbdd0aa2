"""CI's second environment must be the core's own: transformers 5.3.0 or later (CVE-2026-4372 fixed), and no
spacy-transformers (so no test there passes by leaning on the spaCy route)."""

import importlib.metadata
import sys

from packaging.version import Version

transformers = Version(importlib.metadata.version("transformers"))
try:
    spacy_transformers = importlib.metadata.version("spacy-transformers")
except importlib.metadata.PackageNotFoundError:
    spacy_transformers = None
print(f"transformers {transformers}, spacy-transformers {spacy_transformers or 'not installed'}")
if transformers < Version("5.3.0") or spacy_transformers is not None:
    sys.exit("the core environment must have transformers >= 5.3.0 and no spacy-transformers")
