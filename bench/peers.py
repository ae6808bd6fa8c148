"""One adapter per supervisor: how to find it, and how to turn a workload
(N services, each `script NAME FIFO [ARGS]`) into its own config + command line.

Every adapter uses the fastest restart settings the tool offers, so the
crash-loop and kill -9 rows measure the tool, not a default throttle it lets
the user turn off. Tools that cannot restart (honcho) say so via `restarts`.
"""

import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEPS = os.path.join(HERE, ".deps")
ROOT = os.path.dirname(HERE)


def which(name, *extra_dirs):
    for d in extra_dirs:
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return shutil.which(name)


def real_python_script(name):
    """pyenv shims are bash wrappers; resolve the real console script."""
    path = which(name)
    if path and "/shims/" in path and shutil.which("pyenv"):
        out = subprocess.run(["pyenv", "which", name], capture_output=True, text=True)
        if out.returncode == 0:
            return out.stdout.strip()
    return path


def baked(cmd):
    """An executable `run` file doing exactly what `cmd` would (one sh)."""
    script, args = cmd[0], cmd[1:]
    with open(script) as f:
        body = f.read().split("\n", 1)[1]
    sets = " ".join(shlex.quote(a) for a in args)
    return f"#!/bin/sh\nset -- {sets}\n{body}"


class Sup:
    key = label = ""
    restarts = True        # can restart a dead service at all
    log_mode = "prefixed"  # how child output reaches the supervisor's stdout

    def path(self):
        return None

    def available(self):
        return (True, "") if self.path() else (False, "not installed")

    def prepare(self, wd, services):
        """services: [(name, argv)]. Returns (argv, env)."""
        raise NotImplementedError

    def binaries(self):
        """Native executables for the size row (None: interpreted)."""
        return None

    def version(self):
        return ""


def dpkg_version(pkg):
    out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg],
                         capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else ""


def run_version(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0].split()[-1] if text else ""


class Floor(Sup):
    key, label, log_mode = "floor", "C floor", "direct fd, no prefix"

    def path(self):
        return which("floor", os.path.join(DEPS, "bin"))

    def prepare(self, wd, services):
        argv = list(services[0][1])
        argv[1] = "{}"  # floor names its children s1..sN itself
        return [self.path(), str(len(services))] + argv, None

    def binaries(self):
        return [self.path()]


class Uaol(Sup):
    key, label = "uaol", "uaol-supervisor"
    log_mode = "prefixed `name | line`"

    def path(self):
        p = os.environ.get("UAOL_BIN") or os.path.join(ROOT, "target", "release", "uaol-supervisor")
        return p if os.access(p, os.X_OK) else None

    def available(self):
        """`up` is there and starts a service (it may be a stub on old trees)."""
        if not self.path():
            return False, "not built"
        wd = tempfile.mkdtemp(prefix="uaol-smoke-")
        flag = os.path.join(wd, "ran")
        argv, env = self.prepare(wd, [("smoke", ["/bin/sh", "-c",
                                                 f"touch {flag}; exec sleep 60"])])
        p = subprocess.Popen(argv, env=dict(os.environ, **env), cwd=wd,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, start_new_session=True)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not os.path.exists(flag) and p.poll() is None:
                time.sleep(0.05)
            ok = os.path.exists(flag)
        finally:
            os.killpg(p.pid, signal.SIGKILL) if p.poll() is None else None
            err = p.communicate()[1].decode(errors="replace").strip().splitlines()
            shutil.rmtree(wd, ignore_errors=True)
        return (True, "") if ok else (False, "`up` not working: "
                                      + (err[-1] if err else f"exit {p.returncode}"))

    def prepare(self, wd, services):
        lines = ['[supervisor]', 'inherit = ["PATH"]', 'stop_timeout = "10s"', ""]
        for name, argv in services:
            lines += [f"[services.{name}]",
                      "command = " + json.dumps(argv),
                      'restart = "always"',
                      'backoff = { initial = "0s", max = "1s" }',
                      "max_restarts = 1000000",
                      'restart_window = "1s"', ""]
        cfg = os.path.join(wd, "supervisor.toml")
        with open(cfg, "w") as f:
            f.write("\n".join(lines))
        return [self.path(), "-c", cfg, "up"], {"NO_COLOR": "1"}

    def binaries(self):
        return [self.path()]

    def version(self):
        out = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                             capture_output=True, text=True)
        build = os.environ.get("UAOL_BUILD")
        return out.stdout.strip() + (f" ({build} build)" if build else "")


class UaolOld(Uaol):
    """Another uaol-supervisor build (`UAOL_OLD_BIN`) measured side by side:
    before/after figures for a change under the same run conditions."""
    key, label = "uaol-old", "uaol-supervisor (UAOL_OLD_BIN)"

    def path(self):
        p = os.environ.get("UAOL_OLD_BIN", "")
        return p if p and os.access(p, os.X_OK) else None

    def version(self):
        return os.environ.get("UAOL_OLD_LABEL", "UAOL_OLD_BIN")


class S6(Sup):
    key, label, log_mode = "s6", "s6", "direct fd, no prefix"

    def path(self):
        return which("s6-svscan")

    def prepare(self, wd, services):
        scan = os.path.join(wd, "scan")
        for name, argv in services:
            d = os.path.join(scan, name)
            os.makedirs(d)
            with open(os.path.join(d, "run"), "w") as f:
                f.write(baked(argv))
            os.chmod(os.path.join(d, "run"), 0o755)
        # -c: s6-svscan supervises at most 500 service dirs unless told more.
        return [self.path(), "-c", str(max(500, 2 * len(services) + 16)), scan], None

    def binaries(self):
        return [self.path(), which("s6-supervise")]

    def version(self):
        return dpkg_version("s6")


class Runit(Sup):
    key, label, log_mode = "runit", "runit", "direct fd, no prefix"

    def path(self):
        return which("runsvdir")

    def prepare(self, wd, services):
        svdir = os.path.join(wd, "sv")
        for name, argv in services:
            d = os.path.join(svdir, name)
            os.makedirs(d)
            with open(os.path.join(d, "run"), "w") as f:
                f.write(baked(argv))
            os.chmod(os.path.join(d, "run"), 0o755)
        return [self.path(), svdir], None

    def binaries(self):
        return [self.path(), which("runsv")]

    def version(self):
        return dpkg_version("runit")


class Supervisord(Sup):
    key, label, log_mode = "supervisord", "supervisord", "/dev/stdout, no prefix"

    def path(self):
        return real_python_script("supervisord")

    def prepare(self, wd, services):
        conf = [
            "[supervisord]", "nodaemon=true", f"logfile={wd}/supervisord.log",
            f"pidfile={wd}/supervisord.pid", f"childlogdir={wd}",
            f"minfds={max(1024, 4 * len(services) + 64)}", "",
        ]
        for name, argv in services:
            conf += [f"[program:{name}]", "command=" + " ".join(shlex.quote(a) for a in argv),
                     "autorestart=true", "startsecs=0", "startretries=1000000",
                     "stdout_logfile=/dev/stdout", "stdout_logfile_maxbytes=0",
                     "stderr_logfile=/dev/stderr", "stderr_logfile_maxbytes=0", ""]
        path = os.path.join(wd, "supervisord.conf")
        with open(path, "w") as f:
            f.write("\n".join(conf))
        return [self.path(), "-n", "-c", path], None

    def version(self):
        return run_version([self.path(), "--version"])


class Honcho(Sup):
    key, label, restarts = "honcho", "honcho", False
    log_mode = "prefixed `time name | line`"

    def path(self):
        return real_python_script("honcho")

    def prepare(self, wd, services):
        path = os.path.join(wd, "Procfile")
        with open(path, "w") as f:
            for name, argv in services:
                f.write(f"{name}: " + " ".join(shlex.quote(a) for a in argv) + "\n")
        return [self.path(), "start", "-f", path, "-d", wd, "--no-colour"], None

    def version(self):
        return run_version([self.path(), "--version"])


class Pm2(Sup):
    key, label, log_mode = "pm2", "pm2", "pm2-runtime stdout, raw"

    def path(self):
        return which("pm2-runtime", os.path.join(DEPS, "node_modules", ".bin"))

    def prepare(self, wd, services):
        apps = [{"name": name, "script": argv[0], "args": argv[1:],
                 "interpreter": "none", "autorestart": True, "restart_delay": 0,
                 "min_uptime": 0, "max_restarts": 1000000, "merge_logs": True}
                for name, argv in services]
        path = os.path.join(wd, "ecosystem.json")
        with open(path, "w") as f:
            json.dump({"apps": apps}, f)
        home = os.path.join(wd, "pm2home")
        os.makedirs(home)
        return [self.path(), "start", path], {"PM2_HOME": home}

    def version(self):
        try:
            with open(os.path.join(DEPS, "node_modules", "pm2", "package.json")) as f:
                return json.load(f)["version"]
        except OSError:
            return ""


class Horust(Sup):
    key, label, log_mode = "horust", "Horust", "direct fd (STDOUT), no prefix"

    def path(self):
        return which("horust", os.path.join(DEPS, "horust", "bin"))

    def available(self):
        return (True, "") if self.path() else (False, "not built")

    def prepare(self, wd, services):
        sdir = os.path.join(wd, "services")
        os.makedirs(sdir)
        for name, argv in services:
            with open(os.path.join(sdir, f"{name}.toml"), "w") as f:
                f.write(f"command = {json.dumps(shlex.join(argv))}\n"
                        'stdout = "STDOUT"\nstderr = "STDERR"\n'
                        '[restart]\nstrategy = "always"\nbackoff = "0s"\nattempts = 1000000\n'
                        '[failure]\nstrategy = "ignore"\n'
                        '[environment]\nkeep-env = true\n'
                        '[termination]\nwait = "10s"\n')
        uds = os.path.join(wd, "uds")
        os.makedirs(uds)
        return [self.path(), "--services-path", sdir, "--uds-folder-path", uds,
                "--config-path", os.path.join(wd, "horust.toml")], None

    def binaries(self):
        return [self.path()]

    def version(self):
        try:
            with open(os.path.join(DEPS, "horust", ".crates.toml")) as f:
                return f.read().split('"horust ', 1)[1].split()[0]
        except (OSError, IndexError):
            return ""


ALL = [Floor(), Uaol(), S6(), Runit(), Supervisord(), Honcho(), Pm2(), Horust()]
if os.environ.get("UAOL_OLD_BIN"):  # a column only when asked for
    ALL.insert(2, UaolOld())
