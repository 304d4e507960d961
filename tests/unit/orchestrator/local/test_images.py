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
"""Mapping a runtime's image to a bundled runtime server."""

import os

import pytest

from qinling import exceptions
from qinling.orchestrator.local import images

IMAGES = {"python3": "python3", "openstackqinling/python3-runtime": "python3",
          "nodejs": "nodejs10"}


@pytest.mark.parametrize("image,expected", [
    ("python3", "python3"),
    ("python3:3.11", "python3"),
    ("openstackqinling/python3-runtime:0.0.2",
     "openstackqinling/python3-runtime"),
    ("host:5000/repo:tag", "host:5000/repo"),
    ("host:5000/repo", "host:5000/repo"),
    ("repo@sha256:abcd", "repo"),
    ("host:5000/repo:tag@sha256:abcd", "host:5000/repo"),
])
def test_strip_tag_keeps_registry_ports(image, expected):
    assert images.strip_tag(image) == expected


def test_a_tagged_known_image_maps_to_its_runtime():
    assert images.runtime_kind("openstackqinling/python3-runtime:0.0.2",
                               IMAGES) == "python3"


def test_an_unknown_image_names_the_supported_ones():
    with pytest.raises(exceptions.OrchestratorException) as caught:
        images.runtime_kind("foo/bar:1", IMAGES)
    assert str(caught.value) == (
        'Image "foo/bar:1" is not supported by the local orchestrator; '
        "supported images: nodejs, openstackqinling/python3-runtime, "
        "python3.")


def test_a_known_image_without_a_bundled_server_is_refused():
    with pytest.raises(exceptions.OrchestratorException) as caught:
        images.server_files("nodejs", "nodejs10")
    assert str(caught.value) == (
        'Image "nodejs" is not supported by the local orchestrator: its '
        'runtime "nodejs10" is not installed.')


@pytest.mark.parametrize("kind,script", [("python3", "server.py"),
                                         ("nodejs", "server.js")])
def test_the_runtime_servers_are_bundled_script_first(kind, script):
    files = images.server_files(kind, kind)
    assert os.path.basename(files[0]) == script
    assert all(os.path.isfile(f) for f in files)


def test_the_upstream_image_names_map_to_the_bundled_runtimes(conf):
    mapping = conf.local.runtime_images
    assert images.runtime_kind("openstackqinling/nodejs-runtime:0.0.1",
                               mapping) == "nodejs"
    assert images.runtime_kind("nodejs", mapping) == "nodejs"
    assert images.runtime_kind("openstackqinling/python3-runtime",
                               mapping) == "python3"


def test_a_missing_interpreter_is_named(conf):
    conf.set_override("nodejs_interpreter", "/nonexistent/node",
                      group="local")
    with pytest.raises(exceptions.OrchestratorException) as caught:
        images.interpreter("nodejs", conf.local)
    assert str(caught.value) == (
        'The "nodejs" runtime needs /nonexistent/node, which is not '
        "installed on the engine's host.")
