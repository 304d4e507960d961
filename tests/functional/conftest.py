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
"""Session fixtures: real deployments of Qinling, started once."""

import pytest

from tests.functional import api as api_client
from tests.functional import deployments
from tests.functional import openstack_fixtures
from tests.functional.openstack_fixtures import keystone  # noqa: F401
from tests.functional.openstack_fixtures import swift  # noqa: F401
from tests.functional.trigger_fixtures import aodh  # noqa: F401
from tests.functional.trigger_fixtures import confirming_zaqar  # noqa: F401
from tests.functional.trigger_fixtures import zaqar  # noqa: F401

KINDS = ("all-in-one", "rabbit-mariadb", "rabbit-postgresql")

_started = {}


def _deployment(kind, tmp_path_factory, extra_config=None):
    if kind not in _started:
        deployment = deployments.Deployment(
            kind, str(tmp_path_factory.mktemp(kind)), extra_config)
        try:
            deployment.start()
        except deployments.Unavailable as e:
            _started[kind] = e
        else:
            _started[kind] = deployment
    started = _started[kind]
    if isinstance(started, deployments.Unavailable):
        pytest.skip("%s deployment unavailable: %s" % (kind, started))
    return started


@pytest.fixture(scope="session", autouse=True)
def _stop_deployments():
    yield
    for started in _started.values():
        if isinstance(started, deployments.Deployment):
            started.stop()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The all-in-one ``qinling-server``."""
    return _deployment("all-in-one", tmp_path_factory)


@pytest.fixture(scope="session")
def api(server):
    return api_client.Api(server.url)


@pytest.fixture(scope="session")
def runtime(api):
    runtime = api.create_runtime()
    assert runtime["status"] == "available", runtime
    return runtime


@pytest.fixture(scope="session")
def auth_server(keystone, tmp_path_factory):  # noqa: F811
    """An all-in-one ``qinling-server`` with Keystone auth on, registered in
    the Keystone catalog as ``function-engine``."""
    server = _deployment("all-in-one-keystone", tmp_path_factory, {
        "pecan": {"auth_enable": "true"},
        "keystone_authtoken": keystone.authtoken_options(),
        # Functions call Keystone on loopback through their os_session.
        "local": {"network": "host"},
    })
    keystone.register_qinling_endpoint(server.url)
    return server


@pytest.fixture(scope="session")
def bounded_server(tmp_path_factory):
    """An all-in-one ``qinling-server`` whose webhooks refuse to start a
    third running execution of a function."""
    return _deployment("all-in-one-bounded", tmp_path_factory, {
        "webhooks": {"max_running_executions": "2"}})


@pytest.fixture(scope="session")
def fuzz_server(tmp_path_factory):
    """An all-in-one ``qinling-server`` for generated requests: one warm
    worker per runtime and at most two workers per scale_up, so that what
    the generator creates stays small."""
    return _deployment("all-in-one-fuzz", tmp_path_factory, {
        "local": {"pool_size": "1"},
        "api": {"max_scale_up_count": "2"}})


@pytest.fixture(scope="session")
def confirming_server(confirming_zaqar, tmp_path_factory):  # noqa: F811
    """An all-in-one ``qinling-server`` whose ``[webhooks]zaqar_url`` is
    ``confirming_zaqar``, so that its ``confirm_subscriptions`` webhooks
    can confirm there."""
    return _deployment("all-in-one-zaqar-confirming", tmp_path_factory, {
        "webhooks": {"zaqar_url": confirming_zaqar.url}})


@pytest.fixture(scope="session")
def zaqar_server(zaqar, tmp_path_factory):  # noqa: F811
    """An all-in-one ``qinling-server`` whose ``[webhooks]zaqar_url`` is
    ``zaqar``: functions can send their failures to its queues."""
    return _deployment("all-in-one-zaqar", tmp_path_factory, {
        "webhooks": {"zaqar_url": zaqar.url}})


@pytest.fixture(scope="session", params=KINDS)
def any_api(request, tmp_path_factory):
    """An API of each deployment in turn."""
    return api_client.Api(_deployment(request.param, tmp_path_factory).url)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Show the servers' logs beside a failed test."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for started in _started.values():
            if isinstance(started, deployments.Deployment):
                report.sections.append(
                    ("qinling %s logs" % started.kind, started.logs()))
        report.sections.extend(openstack_fixtures.log_sections(item))
