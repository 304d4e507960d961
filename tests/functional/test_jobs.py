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
"""Jobs over HTTP: CRUD, the update rules, and the scheduler firing each
due run exactly once, also with two servers on one database.

The API refuses a first run less than a minute ahead, so tests that need a
run now move ``next_execution_time`` in the test server's SQLite database.
"""

import datetime
import json
import os
import sqlite3
import subprocess
import time

import pytest
import requests

from tests.functional import api as api_client
from tests.functional import deployments

UNKNOWN_ID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
EVERY_SECOND = "* * * * * *"
NEVER_SOON = "0 0 1 1 *"


def in_a_while(seconds=120):
    return (datetime.datetime.now(datetime.timezone.utc)
            + datetime.timedelta(seconds=seconds)).strftime(TIME_FORMAT)


def wait_until(predicate, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("%s not met within %ss" % (what, timeout))


def make_due(server, job_id):
    """Move a job's next run into the past, as SQLAlchemy stores times."""
    past = datetime.datetime.now(datetime.timezone.utc).replace(
        tzinfo=None) - datetime.timedelta(seconds=1)
    with sqlite3.connect(os.path.join(server.workdir, "state",
                                      "qinling.sqlite"), timeout=10) as db:
        db.execute("UPDATE jobs SET next_execution_time = ? WHERE id = ?",
                   (past.strftime("%Y-%m-%d %H:%M:%S.000000"), job_id))


def runs(api, job_id):
    """The executions of a job (upstream's way to find them)."""
    return api.get("/v1/executions", params={
        "description": "has:%s" % job_id}).json()["executions"]


def create_job(api, **body):
    resp = api.post("/v1/jobs", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def get_job(api, job_id):
    return api.get("/v1/jobs/%s" % job_id).json()


def update_job(api, job_id, **body):
    return api.http.put(api.url + "/v1/jobs/%s" % job_id, json=body)


def wait_done(api, job_id, timeout=60):
    return wait_until(lambda: get_job(api, job_id)["status"] == "done"
                      and get_job(api, job_id), timeout, "job done")


def scheduler_ran(api, server, function_id):
    """Return once the scheduler fired a fresh one-shot job."""
    marker = create_job(api, function_id=function_id,
                        first_execution_time=in_a_while())
    make_due(server, marker["id"])
    wait_done(api, marker["id"])


def assert_fault(resp, status, text):
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    assert text in resp.json()["faultstring"], resp.json()


@pytest.fixture(scope="module")
def echo(api, runtime):
    return api.create_function(runtime["id"], api_client.sample_zip("echo"))


@pytest.fixture
def nothing_left_behind(api):
    def snapshot():
        return {kind: sorted(r["id"] for r in api.get(
            "/v1/" + kind).json()[kind]) for kind in ("jobs", "executions")}

    before = snapshot()
    yield
    assert snapshot() == before


def test_job_is_created_shown_listed_updated_and_deleted(api, echo):
    first = in_a_while(3600)

    job = create_job(api, name="nightly", function_id=echo["id"],
                     pattern=NEVER_SOON, function_input='{"a": 1}', count=3)

    assert job["status"] == "running"
    assert (job["function_id"], job["function_version"],
            job["function_alias"]) == (echo["id"], 0, None)
    assert job["count"] == 3 and job["pattern"] == NEVER_SOON
    assert job["function_input"] == '{"a": 1}'
    assert job["first_execution_time"] == job["next_execution_time"]
    assert job["next_execution_time"].endswith("-01-01T00:00:00Z")
    assert get_job(api, job["id"]) == job
    listed = api.get("/v1/jobs", params={"name": "nightly"}).json()["jobs"]
    assert job["id"] in [j["id"] for j in listed]

    resp = update_job(api, job["id"], name="renamed", status="paused",
                      next_execution_time=first)
    assert resp.status_code == 200, resp.text
    assert (resp.json()["name"], resp.json()["status"],
            resp.json()["next_execution_time"]) == ("renamed", "paused",
                                                    first)
    resp = update_job(api, job["id"], status="running")
    assert resp.json()["status"] == "running"
    assert resp.json()["next_execution_time"].endswith("-01-01T00:00:00Z")

    assert api.delete("/v1/jobs/%s" % job["id"]).status_code == 204
    assert_fault(api.get("/v1/jobs/%s" % job["id"]), 404,
                 "Job not found [id=%s]" % job["id"])


def test_one_shot_job_runs_once_then_is_done(api, server, echo):
    when = in_a_while(61)
    job = create_job(api, function_id=echo["id"], first_execution_time=when,
                     function_input="raw text")
    assert (job["first_execution_time"], job["next_execution_time"],
            job["count"]) == (when, when, 1)

    make_due(server, job["id"])
    done = wait_done(api, job["id"])
    scheduler_ran(api, server, echo["id"])

    assert done["count"] == 0
    executions = runs(api, job["id"])
    assert len(executions) == 1
    execution = api.wait_execution(executions[0]["id"])
    assert execution["status"] == "success"
    assert execution["description"] == "Created by Job %s" % job["id"]
    assert execution["sync"] is False
    assert json.loads(execution["result"])["output"] == {
        "args": ["raw text"], "kwargs": {}}


def test_recurring_job_runs_count_times_then_is_done(api, echo):
    job = create_job(api, function_id=echo["id"], pattern=EVERY_SECOND,
                     count=3, function_input={"n": 1})
    assert job["function_input"] == '{"n": 1}'

    wait_done(api, job["id"])

    executions = [api.wait_execution(e["id"]) for e in runs(api, job["id"])]
    assert len(executions) == 3
    assert {e["status"] for e in executions} == {"success"}
    assert {e["result"] and json.loads(e["result"])["output"]["kwargs"][
        "n"] for e in executions} == {1}


def test_jobs_run_on_every_deployment(any_api):
    # qinling-api runs the scheduler on eventlet, qinling-server natively.
    runtime = any_api.create_runtime()
    assert runtime["status"] == "available", runtime["status_reason"]
    function = any_api.create_function(runtime["id"],
                                       api_client.sample_zip("echo"))
    job = create_job(any_api, function_id=function["id"],
                     pattern=EVERY_SECOND, count=2, function_input="tick")

    wait_done(any_api, job["id"])

    executions = [any_api.wait_execution(e["id"])
                  for e in runs(any_api, job["id"])]
    assert [e["status"] for e in executions] == ["success", "success"]


def test_job_on_an_alias_runs_what_the_alias_points_to(api, server, echo):
    api.post("/v1/aliases", json={"name": "job-alias",
                                  "function_id": echo["id"]})
    job = create_job(api, function_alias="job-alias",
                     first_execution_time=in_a_while())
    assert (job["function_id"], job["function_alias"]) == (None, "job-alias")

    make_due(server, job["id"])
    wait_done(api, job["id"])

    (execution,) = runs(api, job["id"])
    assert execution["function_alias"] == "job-alias"
    assert execution["function_id"] == echo["id"]
    assert api.wait_execution(execution["id"])["status"] == "success"
    assert api.delete("/v1/aliases/job-alias").status_code == 204


def test_runs_that_cannot_start_are_recorded_and_later_runs_fire(
        api, server, echo):
    job = create_job(api, function_id=echo["id"], pattern=NEVER_SOON,
                     count=2)
    with sqlite3.connect(os.path.join(server.workdir, "state",
                                      "qinling.sqlite"), timeout=10) as db:
        db.execute("UPDATE jobs SET function_id = ?, pattern = ? "
                   "WHERE id = ?", (UNKNOWN_ID, EVERY_SECOND, job["id"]))
    make_due(server, job["id"])

    wait_done(api, job["id"])

    executions = runs(api, job["id"])
    assert len(executions) == 2
    for execution in executions:
        assert execution["status"] == "error"
        assert json.loads(execution["result"])["output"] == (
            "The job's run could not start: Function not found [id=%s]"
            % UNKNOWN_ID)


def test_paused_job_does_not_run_until_resumed(api, server, echo):
    job = create_job(api, function_id=echo["id"], pattern=EVERY_SECOND,
                     first_execution_time=in_a_while())
    assert update_job(api, job["id"], status="paused").status_code == 200
    make_due(server, job["id"])

    scheduler_ran(api, server, echo["id"])
    assert runs(api, job["id"]) == []

    resumed = update_job(api, job["id"], status="running").json()
    assert resumed["status"] == "running"
    wait_until(lambda: runs(api, job["id"]), what="a run after resuming")
    cancelled = update_job(api, job["id"], status="cancelled").json()
    assert cancelled["status"] == "cancelled"
    assert_fault(update_job(api, job["id"], status="running"), 400,
                 "Can not update a finished job.")


def test_jobs_are_paged_and_listed_by_project(api, echo):
    made = [create_job(api, function_id=echo["id"], pattern=NEVER_SOON,
                       name="paged-%d" % i) for i in range(3)]

    first = api.get("/v1/jobs", params={
        "name": "in:paged-0,paged-1,paged-2", "limit": 2,
        "sort_key": "name"}).json()
    assert [j["name"] for j in first["jobs"]] == ["paged-0", "paged-1"]
    second = requests.get(first["next"]).json()
    assert [j["name"] for j in second["jobs"]] == ["paged-2"]
    assert "next" not in second
    everywhere = api.get("/v1/jobs", params={"all_projects": "true"}).json()
    assert {j["id"] for j in made} <= {j["id"] for j in everywhere["jobs"]}
    assert api.get("/v1/jobs", params={
        "project_id": "other"}).json()["jobs"] == []
    for job in made:
        api.delete("/v1/jobs/%s" % job["id"])


@pytest.mark.parametrize("body, status, message", [
    ({"pattern": NEVER_SOON}, 400,
     "Either function_alias or function_id must be provided."),
    ({"function_id": "ECHO"}, 400,
     "pattern or first_execution_time must be specified."),
    ({"function_id": "ECHO", "pattern": "* * *"}, 400,
     "The specified pattern is not valid: * * *"),
    ({"function_id": "ECHO", "pattern": "0 0 31 2 *"}, 400,
     "The pattern 0 0 31 2 * matches no time after"),
    ({"function_id": "ECHO", "first_execution_time": "next tuesday"}, 400,
     "Invalid time next tuesday: expected an ISO 8601 time"),
    ({"function_id": "ECHO", "first_execution_time": "2001-01-01T00:00:00Z"},
     400, "Execution time must be at least 1 minute in the future."),
    ({"function_id": "ECHO", "first_execution_time": "IN_A_WHILE",
      "count": 2}, 400,
     "pattern must be provided if count is greater than 1."),
    ({"function_id": "ECHO", "pattern": NEVER_SOON, "count": 0}, 400,
     "count must be a positive integer."),
    ({"function_id": "ECHO", "pattern": NEVER_SOON, "status": "paused"}, 400,
     "Can not set field(s) when creating a job: status."),
    ({"function_id": "ECHO", "pattern": NEVER_SOON, "name": "n" * 256}, 400,
     "name is longer than 255 bytes."),
    ({"function_id": "ECHO", "pattern": NEVER_SOON,
      "function_input": "x" * 65536}, 400,
     "function_input is longer than 65535 bytes."),
    ({"function_id": "ECHO", "pattern": NEVER_SOON, "colour": 1}, 400,
     "colour"),
    ({"function_id": "ECHO", "pattern": NEVER_SOON, "id": UNKNOWN_ID}, 400,
     "read only"),
    ({"function_id": UNKNOWN_ID, "pattern": NEVER_SOON}, 404,
     "Function not found [id=%s]" % UNKNOWN_ID),
    ({"function_id": "ECHO", "function_version": 9, "pattern": NEVER_SOON},
     404, "FunctionVersion not found"),
    ({"function_alias": "no-such", "pattern": NEVER_SOON}, 404,
     "FunctionAlias not found [name=no-such]"),
    ({"function_id": "ECHO", "function_alias": "a", "pattern": NEVER_SOON},
     400, "Give either function_alias or function_id"),
])
def test_bad_job_is_refused(api, echo, body, status, message,
                            nothing_left_behind):
    body = {k: {"ECHO": echo["id"], "IN_A_WHILE": in_a_while()}.get(v, v)
            if isinstance(v, str) else v for k, v in body.items()}

    assert_fault(api.post("/v1/jobs", json=body), status, message)


def test_pattern_longer_than_upstreams_32_characters_is_kept(api, echo):
    pattern = "0,5,10,15,20,25,30,35,40,45,50,55 0 1 1,7 *"

    job = create_job(api, function_id=echo["id"], pattern=pattern,
                     function_input="x" * 1000)

    assert get_job(api, job["id"])["pattern"] == pattern
    assert get_job(api, job["id"])["function_input"] == "x" * 1000
    api.delete("/v1/jobs/%s" % job["id"])


@pytest.mark.parametrize("body, message", [
    ({"pattern": ""}, "Can not change job type."),
    ({"pattern": "nope"}, "The specified pattern is not valid: nope"),
    ({"status": "done"}, "Invalid status."),
    ({"next_execution_time": "2001-01-01T00:00:00Z"},
     "Execution time must be at least 1 minute in the future."),
    ({"count": 5}, "Can not update field(s): count."),
    ({"function_id": UNKNOWN_ID}, "Can not update field(s): function_id."),
])
def test_bad_job_update_is_refused(api, echo, body, message):
    job = create_job(api, function_id=echo["id"], pattern=NEVER_SOON)

    assert_fault(update_job(api, job["id"], **body), 400, message)
    assert get_job(api, job["id"]) == job
    api.delete("/v1/jobs/%s" % job["id"])


def test_one_shot_job_cannot_become_recurring(api, echo):
    job = create_job(api, function_id=echo["id"],
                     first_execution_time=in_a_while())

    assert_fault(update_job(api, job["id"], pattern=NEVER_SOON), 400,
                 "Can not change job type.")
    api.delete("/v1/jobs/%s" % job["id"])


def test_unknown_jobs_are_404(api):
    for call in (api.get, api.delete):
        assert_fault(call("/v1/jobs/%s" % UNKNOWN_ID), 404,
                     "Job not found [id=%s]" % UNKNOWN_ID)
    assert_fault(update_job(api, UNKNOWN_ID, name="x"), 404, "Job not found")
    assert_fault(api.get("/v1/jobs/not-a-uuid"), 400,
                 "Expected a uuid but received not-a-uuid.")


# Two all-in-one servers on one database: each due run fires once.

DATABASES = ("sqlite", "mariadb", "postgresql")


class ServerPair:
    """Two qinling-server processes sharing a database and package store,
    each with its own scheduler (every second) and engine."""

    def __init__(self, kind, workdir):
        self.workdir = workdir
        self.processes, self.urls, self._cleanups = [], [], []
        if kind == "sqlite":
            self.connection = "sqlite:///%s/shared.sqlite" % workdir
        else:
            self.connection, drop = deployments._create_database(kind)
            self._cleanups.append(drop)

    def start(self, index):
        port = deployments.free_port()
        config_file = os.path.join(self.workdir, "server%d.conf" % index)
        deployments.write_config(config_file, {
            "DEFAULT": {"state_path": os.path.join(self.workdir,
                                                   "state%d" % index),
                        "debug": "true"},
            "api": {"host": "127.0.0.1", "port": port,
                    "job_handler_interval": 1},
            "local": {"pool_size": 1},
            "storage": {"file_system_dir": os.path.join(self.workdir,
                                                        "packages")},
            "database": {"connection": self.connection},
        })
        if index == 0 and not self.connection.startswith("sqlite"):
            subprocess.run([os.path.join(deployments.BIN,
                                         "qinling-db-manage"),
                            "--config-file", config_file, "upgrade", "head"],
                           check=True, capture_output=True)
        log_dir = os.path.join(self.workdir, "server%d" % index)
        os.makedirs(log_dir)
        process = deployments.Process("qinling-server", config_file, log_dir)
        self.processes.append(process)
        url = "http://127.0.0.1:%d" % port
        deployments.wait_ready(url, [process])
        self.urls.append(url)
        return api_client.Api(url)

    def logs(self):
        return [p.log() for p in self.processes]

    def stop(self):
        for process in self.processes:
            process.stop()
        for cleanup in self._cleanups:
            cleanup()


@pytest.fixture(params=DATABASES)
def pair(request, tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("pair-%s" % request.param))
    try:
        pair = ServerPair(request.param, workdir)
    except deployments.Unavailable as e:
        pytest.skip("%s unavailable: %s" % (request.param, e))
    yield pair
    pair.stop()


def test_two_schedulers_fire_each_run_exactly_once(pair):
    first = pair.start(0)
    runtime = first.create_runtime()
    assert runtime["status"] == "available", runtime["status_reason"]
    function = first.create_function(runtime["id"],
                                     api_client.sample_zip("echo"))
    second = pair.start(1)
    wait_until(lambda: second.get("/v1/runtimes/%s" % runtime["id"]).json()[
        "status"] == "available", what="runtime available on both")

    jobs = [create_job((first, second)[i % 2], function_id=function["id"],
                       pattern=EVERY_SECOND, count=4,
                       function_input='{"job": %d}' % i) for i in range(6)]
    for job in jobs:
        wait_done(first, job["id"], timeout=120)

    for i, job in enumerate(jobs):
        executions = [first.wait_execution(e["id"])
                      for e in runs(first, job["id"])]
        assert len(executions) == 4, executions
        for execution in executions:
            assert execution["status"] == "success", execution
            assert json.loads(execution["result"])["output"] == {
                "args": [], "kwargs": {"job": i}}
    fired = [log.count("Firing job") for log in pair.logs()]
    print("runs fired by each server: %s" % fired)


# With Keystone auth on: jobs are their project's and run in it.

@pytest.fixture(scope="module")
def users(auth_server, keystone):
    def caller(name):
        api = api_client.Api(auth_server.url)
        api.http.headers["X-Auth-Token"] = keystone.token(name)
        return api
    return {name: caller(name) for name in ("user-a", "user-b", "admin")}


def test_with_auth_a_job_is_its_projects_and_runs_in_it(
        users, auth_server, keystone):
    owner, other, admin = users["user-a"], users["user-b"], users["admin"]
    runtime = admin.create_runtime(image="python3")
    function = owner.create_function(runtime["id"],
                                     api_client.sample_zip("echo"))
    job = create_job(owner, function_id=function["id"],
                     first_execution_time=in_a_while(),
                     function_input='{"n": 7}')
    path = "/v1/jobs/%s" % job["id"]
    assert job["project_id"] == keystone.projects["project-a"]

    assert requests.get(owner.url + "/v1/jobs").status_code == 401
    assert other.get(path).status_code == 404
    assert update_job(other, job["id"], name="x").status_code == 404
    assert other.delete(path).status_code == 404
    assert other.post("/v1/jobs", json={
        "function_id": function["id"],
        "pattern": NEVER_SOON}).status_code == 404
    assert job["id"] not in [j["id"] for j in other.get(
        "/v1/jobs").json()["jobs"]]
    assert other.get("/v1/jobs", params={
        "all_projects": "true"}).status_code == 403
    assert job["id"] in [j["id"] for j in admin.get("/v1/jobs", params={
        "all_projects": "true"}).json()["jobs"]]

    make_due(auth_server, job["id"])
    wait_done(owner, job["id"])

    (execution,) = runs(owner, job["id"])
    execution = owner.wait_execution(execution["id"])
    assert execution["status"] == "success", execution
    assert execution["project_id"] == keystone.projects["project-a"]
    assert json.loads(execution["result"])["output"]["kwargs"] == {"n": 7}
