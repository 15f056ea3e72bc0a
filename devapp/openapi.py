"""``python -m devapp.openapi > openapi.yaml``: print the served OpenAPI document as YAML."""

import sys

import yaml

from . import served_openapi

sys.stdout.write(yaml.safe_dump(served_openapi(), allow_unicode=True, sort_keys=False))
