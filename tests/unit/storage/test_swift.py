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
"""Swift helpers: object names, etags, and the reasons users are shown."""

import pytest
from swiftclient import exceptions as swift_exc

from qinling.storage import swift
from qinling.storage import swift_objects


@pytest.mark.parametrize("version, name", [
    (0, "p1/f1_abc.zip"),
    (3, "p1/f1_3_abc.zip"),
])
def test_packages_are_named_by_project_function_version_and_md5(version,
                                                                name):
    assert swift.SwiftStorage._name("p1", "f1", "abc", version) == name


@pytest.mark.parametrize("headers, etag", [
    ({"etag": "d41d8cd98f00b204e9800998ecf8427e"},
     "d41d8cd98f00b204e9800998ecf8427e"),
    ({"etag": '"d41d8cd98f00b204e9800998ecf8427e"'},
     "d41d8cd98f00b204e9800998ecf8427e"),
    ({}, ""),
])
def test_an_etag_loses_the_quotes_of_a_large_object(headers, etag):
    assert swift_objects.parse_etag(headers) == etag


@pytest.mark.parametrize("etag, name", [
    ("d41d8cd98f00b204e9800998ecf8427e",
     "f1_d41d8cd98f00b204e9800998ecf8427e.zip"),
    ("../../x", "f1_" + "_" * 6 + "x.zip"),
])
def test_a_cached_object_name_is_safe_whatever_the_etag(etag, name):
    assert swift_objects.cache_name("f1", etag) == name


@pytest.mark.parametrize("error, reason, not_found", [
    (swift_exc.ClientException("gone", http_status=404), "HTTP 404", True),
    (swift_exc.ClientException("no", http_status=403), "HTTP 403", False),
    (ConnectionRefusedError(), "ConnectionRefusedError", False),
])
def test_a_failed_swift_call_gives_a_short_reason(error, reason, not_found):
    assert swift.reason(error) == reason
    assert swift.is_not_found(error) is not_found
