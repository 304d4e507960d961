# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
"""The OpenAPI description (api-ref/openapi.yaml) and the API's routes
name the same operations."""

import os
import re

from pecan import rest
import yaml

from qinling.api.controllers import root

SPEC = os.path.join(os.path.dirname(__file__), "..", "..", "..", "api-ref",
                    "openapi.yaml")
METHODS = ("get", "put", "post", "delete", "patch")
# RestController methods that serve the collection, and the item.
COLLECTION = {"get_all": "GET", "post": "POST"}
ITEM = {"get_one": "GET", "put": "PUT", "delete": "DELETE"}


def load_spec():
    with open(SPEC) as f:
        return yaml.safe_load(f)


def _exposed(obj, name):
    return getattr(getattr(obj, name, None), "exposed", False)


def _rest_routes(controller, prefix):
    item = prefix + "/{}"
    for name, method in COLLECTION.items():
        if _exposed(controller, name):
            yield method, prefix
    for name, method in ITEM.items():
        if _exposed(controller, name):
            yield method, item
    for action, methods in getattr(controller, "_custom_actions",
                                   {}).items():
        for method in methods:
            yield method, "%s/%s" % (item, action)
    for name in dir(type(controller)):
        child = getattr(controller, name)
        if isinstance(child, rest.RestController):
            yield from _rest_routes(child, "%s/%s" % (item, name))


def routes():
    """(METHOD, path with ``{}`` for each id) of every pecan endpoint."""
    found = {("GET", "/")}
    v1 = root.RootController.v1
    if _exposed(v1, "index"):
        found.add(("GET", "/v1/"))
    for name in dir(type(v1)):
        child = getattr(v1, name)
        if isinstance(child, rest.RestController):
            found.update(_rest_routes(child, "/v1/" + name))
    return found


def spec_operations(spec):
    return {(method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
            for path, item in spec["paths"].items()
            for method in item if method in METHODS}


def test_every_route_is_in_the_openapi_description():
    assert routes() - spec_operations(load_spec()) == set()


def test_every_described_operation_is_a_route():
    assert spec_operations(load_spec()) - routes() == set()


def test_every_operation_has_a_unique_operation_id():
    ids = [operation["operationId"]
           for item in load_spec()["paths"].values()
           for method, operation in item.items() if method in METHODS]
    assert len(ids) == len(set(ids))


def api_reference_operations():
    source = os.path.join(os.path.dirname(SPEC), "source")
    documented = set()
    for name in os.listdir(source):
        if name.endswith(".inc"):
            with open(os.path.join(source, name)) as f:
                for method, path in re.findall(
                        r"^\.\. rest_method:: (\w+) (\S+)", f.read(), re.M):
                    documented.add((method, re.sub(r"\{[^}]+\}", "{}",
                                                   path)))
    return documented


def test_api_reference_documents_every_described_operation():
    assert spec_operations(load_spec()) - api_reference_operations() == set()


def test_every_documented_operation_is_described():
    assert api_reference_operations() - spec_operations(load_spec()) == set()
