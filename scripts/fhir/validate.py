#!/usr/bin/env python3
"""Validate every FHIR R4 resource in a folder (one JSON file each) with PyPI fhir.resources (R4B).

Usage: validate.py DIR. Prints one line per invalid file; exit 1 when any is invalid, 3 when
fhir.resources is not installed (`.ci/run` installs it into build/fhir-py)."""
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "build", "fhir-py"))
try:
    from fhir.resources.R4B import get_fhir_model_class
except ImportError as e:  # pragma: no cover
    print(f"fhir.resources is not installed: {e}", file=sys.stderr)
    sys.exit(3)

bad = 0
count = 0
for name in sorted(os.listdir(sys.argv[1])):
    if not name.endswith(".json"):
        continue
    with open(os.path.join(sys.argv[1], name)) as f:
        data = json.load(f)
    count += 1
    try:
        get_fhir_model_class(data["resourceType"]).model_validate(data)
    except Exception as e:  # noqa: BLE001 - any refusal is a finding
        bad += 1
        print(f"{name}: {str(e).splitlines()[0:3]}")
print(f"fhir.resources R4B: {count - bad} of {count} valid")
sys.exit(1 if bad else 0)
