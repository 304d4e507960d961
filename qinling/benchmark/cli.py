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
"""``qinling-benchmark``: the platform against its own baselines, one run.

Without ``--url`` it starts its own all-in-one ``qinling-server`` (SQLite,
local workers) on a free loopback port in a temporary directory, and stops
it at the end, whatever happens. With ``--url`` it measures a running
deployment; ``--database-connection`` lets it seed rows for the list
scenario and ``--service-pid`` lets it read the memory of local services.
"""

import argparse
import contextlib
import dataclasses
import os
import signal
import sys
import tempfile
import time

from qinling.benchmark import baselines
from qinling.benchmark import client
from qinling.benchmark import listing
from qinling.benchmark import memory
from qinling.benchmark import report
from qinling.benchmark import scenarios
from qinling.benchmark import server as local_server
from qinling.benchmark import session
from qinling.benchmark import stats

SCENARIOS = ("warm", "cold", "async", "throughput", "flood", "memory",
             "list")


def _csv(kind):
    def parse(text):
        try:
            return tuple(kind(v) for v in text.split(",") if v)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e))
    return parse


def _option(text):
    name, sep, value = text.partition("=")
    section, dot, key = name.rpartition(".")
    if not sep or not dot or not section or not key:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not SECTION.KEY=VALUE")
    return section, key, value


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="qinling-benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="Few iterations and small tables: seconds.")
    parser.add_argument("--json", action="store_true",
                        help="Print a JSON document instead of a table.")
    parser.add_argument("--json-file", metavar="PATH",
                        help="Also write the JSON document to this file.")
    parser.add_argument("--url", help="Measure the running deployment "
                        "whose API is at this URL.")
    parser.add_argument("--database-connection", metavar="URL",
                        help="With --url: the deployment's database "
                        "(SQLAlchemy URL), to seed the list scenario.")
    parser.add_argument("--service-pid", type=int, action="append",
                        default=[], metavar="PID",
                        help="With --url: a local service process "
                        "(qinling-engine, qinling-api) to measure; "
                        "repeatable.")
    parser.add_argument("--runtime-id", help="With --url: use this "
                        "available runtime instead of creating one.")
    parser.add_argument("--token", help="X-Auth-Token for the API.")
    parser.add_argument("--project-id", default="default",
                        help="Project of the seeded rows (default: "
                        "'default', the project of an API without auth).")
    parser.add_argument("--scenarios", type=_csv(str),
                        help="Comma-separated subset of: "
                        + ",".join(SCENARIOS))
    parser.add_argument("--pool-size", type=int,
                        help="[local]pool_size of the started server.")
    parser.add_argument("--server-option", action="append", default=[],
                        type=_option, metavar="SECTION.KEY=VALUE",
                        help="More configuration for the started server; "
                        "repeatable.")
    parser.add_argument("--iterations", type=int,
                        help="Warm sync executions to time.")
    parser.add_argument("--clients", type=int,
                        help="Concurrent clients of the throughput run.")
    parser.add_argument("--duration", type=float,
                        help="Seconds the throughput run lasts.")
    parser.add_argument("--list-sizes", type=_csv(int), metavar="N,N,...",
                        help="Execution rows to list at.")
    parser.add_argument("--budget", type=float,
                        help="Most seconds one scenario may take.")
    args = parser.parse_args(argv)
    unknown = set(args.scenarios or ()) - set(SCENARIOS)
    if unknown:
        parser.error("unknown scenario(s): " + ", ".join(sorted(unknown)))
    if not args.url and (args.database_connection or args.service_pid
                         or args.runtime_id):
        parser.error("--database-connection, --service-pid and "
                     "--runtime-id need --url")
    if args.url and args.server_option:
        parser.error("--server-option configures the server the benchmark "
                     "starts; it cannot be used with --url")
    return args


def settings_from(args):
    settings = session.Settings(**(session.QUICK if args.quick else {}))
    for option, field in (("pool_size", "pool_size"), ("iterations", "warm"),
                          ("clients", "clients"), ("duration", "duration"),
                          ("list_sizes", "list_sizes"), ("budget", "budget"),
                          ("scenarios", "scenarios")):
        value = getattr(args, option)
        if value is not None:
            setattr(settings, field, value)
    return settings


def _attempt(bench, name, func, *args):
    """Run one scenario or baseline; a failure becomes a row, not a crash.

    :returns: a list of rows.
    """
    bench.progress(name)
    try:
        result = func(*args)
    except KeyboardInterrupt:
        raise
    except Exception as e:
        return [stats.Result(name=name, errors=1,
                             note=f"failed: {type(e).__name__}: {e}")]
    return result if isinstance(result, list) else [result]


def _baselines(bench, fn_dir):
    s = bench.settings
    rows = []
    rows += _attempt(bench, baselines.IN_PROCESS, baselines.in_process,
                     fn_dir, s.in_process, s.budget)
    rows += _attempt(bench, baselines.FORK, baselines.fork, fn_dir, s.fork,
                     s.budget)
    rows += _attempt(bench, baselines.SPAWN, baselines.spawn, fn_dir,
                     s.spawn, s.budget)
    rows += _attempt(bench, baselines.HTTP, baselines.loopback_http, s.http,
                     s.budget)
    rows += _attempt(bench, baselines.IDLE_PYTHON, baselines.idle_python)
    return rows


def _scenarios(bench):
    wanted = bench.settings.scenarios
    plan = (("warm", scenarios.WARM, scenarios.warm_sync),
            ("cold", scenarios.COLD, scenarios.cold_start),
            ("async", scenarios.ASYNC, scenarios.async_final),
            ("throughput", "throughput", scenarios.throughput),
            ("flood", "flood", scenarios.flood),
            ("memory", "memory", memory.measure),
            ("list", "list executions", listing.measure))
    rows = []
    for key, name, func in plan:
        if key in wanted:
            rows += _attempt(bench, name, func, bench)
    return rows


def measure(bench, workdir, runtime_id=None):
    """Create what the scenarios need, then run baselines and scenarios.

    :returns: the rows, ratios filled in.
    """
    api = bench.api()
    created = []
    try:
        if runtime_id is None:
            bench.progress("creating a python3 runtime")
            runtime_id = api.create_runtime()["id"]
            created.append(("runtime", runtime_id))
        bench.runtime_id = runtime_id
        function = api.create_function(runtime_id, client.make_package())
        bench.function_id = function["id"]
        created.append(("function", function["id"]))
        fn_dir = baselines.write_function(os.path.join(workdir, "function"))
        rows = _baselines(bench, fn_dir) + _scenarios(bench)
    finally:
        if bench.cleanup:
            for kind, ident in reversed(created):
                with contextlib.suppress(Exception):
                    getattr(api, f"delete_{kind}")(ident)
        api.conn.close()
    stats.apply_ratios(rows, {row.name: row for row in rows})
    return rows


def _interrupt(signum, frame):
    raise KeyboardInterrupt()


def _run_local(args, settings, workdir, headers, extra):
    """Start a server, measure it, stop it; returns the rows."""
    options = {}
    for section, key, value in args.server_option:
        options.setdefault(section, {})[key] = value
    server = local_server.LocalServer(workdir, settings.pool_size, options)
    bench = session.Bench(server.url, settings,
                          database_url=server.database_url, headers=headers)
    bench.cleanup = False  # the server and its files go away
    extra["server"] = {"url": server.url, "pid": None}
    try:
        bench.progress("starting qinling-server")
        server.start()
        extra["server"]["pid"] = server.pid
        bench.progress(f"qinling-server pid {server.pid} serves {server.url}")
        bench.pids = [server.pid]
        return measure(bench, workdir)
    finally:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            bench.progress("stopping qinling-server")
            extra["leftover_processes"] = server.stop()
        finally:
            signal.signal(signal.SIGINT, previous)


def run(args):
    """Measure; returns the JSON document and the rows."""
    settings = settings_from(args)
    machine_info = report.machine()
    start = time.monotonic()
    headers = {"X-Auth-Token": args.token} if args.token else {}
    extra = {"settings": dataclasses.asdict(settings)}
    with tempfile.TemporaryDirectory(prefix="qb-") as workdir:
        if args.url:
            bench = session.Bench(
                args.url, settings, pids=args.service_pid,
                database_url=args.database_connection,
                project_id=args.project_id, headers=headers)
            rows = measure(bench, workdir, args.runtime_id)
            target = args.url
        else:
            rows = _run_local(args, settings, workdir, headers, extra)
            target = "all-in-one qinling-server started by the benchmark"
    mode = "quick" if args.quick else "full"
    return report.document(mode, target, machine_info, rows,
                           time.monotonic() - start, extra), rows


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        document, rows = run(args)
    except KeyboardInterrupt:
        print("qinling-benchmark: interrupted", file=sys.stderr)
        return 130
    except (RuntimeError, OSError, client.ApiError) as e:
        print(f"qinling-benchmark: {e}", file=sys.stderr)
        return 1
    if args.json_file:
        with open(args.json_file, "w") as f:
            f.write(report.dumps(document) + "\n")
    if args.json:
        print(report.dumps(document))
    else:
        print(report.table(document, rows))
    return 0
