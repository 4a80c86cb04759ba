"""Checks openapi.yaml beyond what openapi-spec-validator does.

- every operation has an operationId, a security requirement (or an explicit empty one), a
  request example when it takes a body, and an example for each JSON response;
- every example validates against its schema (JSON Schema 2020-12, formats checked);
- every documented error response uses the error schema.

Usage: python scripts/openapi_check.py openapi.yaml
"""

import sys

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

METHODS = ("get", "put", "post", "delete", "patch")


def main(path):
    spec = yaml.safe_load(open(path, encoding="utf-8"))
    resource = Resource(contents=spec, specification=DRAFT202012)
    registry = Registry().with_resource("urn:popi:openapi", resource)
    resolver = registry.resolver("urn:popi:openapi")
    problems = []
    checked = 0

    def deref(node):
        while isinstance(node, dict) and "$ref" in node and len(node) == 1:
            node = resolver.lookup("urn:popi:openapi" + node["$ref"]).contents
        return node

    def validate(example, schema, where):
        nonlocal checked
        wrapped = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:popi:example", **schema}
        validator = jsonschema.Draft202012Validator(
            wrapped, registry=registry.with_resource("urn:popi:example", Resource(wrapped, DRAFT202012)),
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        # Component references inside schemas point at the whole document.
        text = yaml.safe_dump(wrapped)
        if "#/components/" in text:
            wrapped = yaml.safe_load(text.replace("'#/components/", "'urn:popi:openapi#/components/"))
            validator = jsonschema.Draft202012Validator(
                wrapped, registry=registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        for error in validator.iter_errors(example):
            problems.append(f"{where}: example invalid at {list(error.absolute_path)}: {error.message[:200]}")
        checked += 1

    def media_examples(media):
        if "example" in media:
            yield media["example"]
        for example in (media.get("examples") or {}).values():
            yield deref(example)["value"]

    for route, item in spec["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            where = f"{method.upper()} {route}"
            if "operationId" not in operation:
                problems.append(f"{where}: no operationId")
            if "security" not in operation:
                problems.append(f"{where}: no security requirement")
            for parameter in item.get("parameters", []) + operation.get("parameters", []):
                parameter = deref(parameter)
                if "example" not in parameter:
                    problems.append(f"{where}: parameter {parameter['name']} has no example")
                else:
                    validate(parameter["example"], parameter["schema"], f"{where} parameter {parameter['name']}")
            body = operation.get("requestBody")
            if body:
                for media_type, media in body["content"].items():
                    examples = list(media_examples(media))
                    if not examples:
                        problems.append(f"{where}: request {media_type} has no example")
                    for example in examples:
                        validate(example, media["schema"], f"{where} request")
            for status, response in operation["responses"].items():
                response = deref(response)
                for media_type, media in (response.get("content") or {}).items():
                    examples = list(media_examples(media))
                    if not examples:
                        problems.append(f"{where} {status}: {media_type} has no example")
                    if media_type == "application/json":
                        for example in examples:
                            validate(example, media["schema"], f"{where} {status}")
                        if status.startswith(("4", "5")) and route != "/readyz" and \
                                media["schema"] != {"$ref": "#/components/schemas/Error"}:
                            problems.append(f"{where} {status}: error responses use the Error schema")
    for problem in problems:
        print(problem)
    print(f"openapi_check: {checked} examples checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "openapi.yaml"))
