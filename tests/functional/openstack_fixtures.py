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
"""Session fixtures ``keystone`` and ``swift``: a real Keystone and Swift.

Use them from tests/functional/conftest.py (or from a test module) with::

    from tests.functional.openstack_fixtures import keystone, swift  # noqa

``pytest_plugins = ["tests.functional.openstack_fixtures"]`` works only in
the rootdir's conftest.py: pytest refuses ``pytest_plugins`` in
tests/functional/conftest.py when run as ``pytest tests``.

See :mod:`tests.functional.openstack_services` for what the objects offer.
A test that uses them is skipped only when the servers cannot be installed
because no package index answers; any other failure errors the test with
the servers' logs.
"""

import pytest

from tests.functional import openstack_services


def _start(services):
    try:
        return services.start()
    except openstack_services.Unavailable as e:
        pytest.skip("OpenStack services unavailable: %s" % e)


@pytest.fixture(scope="session")
def keystone(tmp_path_factory):
    """A :class:`~tests.functional.openstack_services.Keystone`, started."""
    services = _start(openstack_services.Keystone(
        str(tmp_path_factory.mktemp("keystone"))))
    try:
        yield services
    finally:
        services.stop()


@pytest.fixture(scope="session")
def swift(keystone, tmp_path_factory):
    """A :class:`~tests.functional.openstack_services.Swift` using the
    ``keystone`` fixture, started."""
    services = _start(openstack_services.Swift(
        str(tmp_path_factory.mktemp("swift")), keystone))
    try:
        yield services
    finally:
        services.stop()


def log_sections(item):
    """``(title, text)`` report sections with the logs of the services
    (Keystone, Swift, and those of trigger_fixtures) that the test
    ``item`` used, for a conftest's ``pytest_runtest_makereport``."""
    return [("%s logs" % name, services.logs())
            for name, services in sorted(
                getattr(item, "funcargs", {}).items())
            if isinstance(services, openstack_services.Services)]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Show those logs beside a failed test, when this module is loaded as
    a plugin (``-p tests.functional.openstack_fixtures``)."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        report.sections.extend(log_sections(item))
