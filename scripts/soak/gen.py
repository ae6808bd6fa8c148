"""The soak's supervisor.toml: 50 services of mixed behaviour (see svc.sh).

Each entry of KINDS is (mode, count, expected end states, extra TOML). The
expected states are what `status` must show once the killing has stopped and
the settle time has passed.
"""

BACKOFF = 'backoff = { initial = "100ms", max = "1s", factor = 2.0, reset_after = "5s" }'
ALWAYS = f'restart = "always"\nmax_restarts = 0\n{BACKOFF}'
UP = ("running", "ready")

# mode, how many, states accepted at the end, TOML lines
KINDS = [
    ("steady", 6, UP, ALWAYS),
    ("steady", 4, UP, ALWAYS + '\nready = { log = " tick$", timeout = "20s" }'),
    ("ignore", 5, UP, ALWAYS + '\nstop_timeout = "1s"'),
    ("forker", 5, UP, ALWAYS),
    ("waiter", 4, UP, ALWAYS),
    ("orphan", 3, UP, ALWAYS),
    ("daemon", 2, UP, ALWAYS),
    ("flood", 4, UP, ALWAYS),
    ("closeout", 3, UP, ALWAYS),
    ("trailer", 4, UP + ("backoff",), ALWAYS),
    ("randexit", 4, UP + ("backoff",), f'restart = "on-failure"\nmax_restarts = 0\n{BACKOFF}'),
    (
        "crash",
        3,
        ("failed",),
        'restart = "on-failure"\nmax_restarts = 3\nrestart_window = "1m"\n'
        'backoff = { initial = "50ms", max = "200ms" }',
    ),
    ("once", 2, ("exited",), 'restart = "on-failure"'),
    ("once", 1, ("completed",), "oneshot = true"),
]

# Services that must be up again at the end (killed leaders restarted).
RESTARTABLE = {"steady", "ignore", "forker", "waiter", "orphan", "daemon", "flood", "closeout"}


def services():
    """[(name, mode, accepted end states, toml)] for all 50 services."""
    out, seen = [], {}
    for mode, count, states, toml in KINDS:
        for _ in range(count):
            seen[mode] = seen.get(mode, 0) + 1
            out.append((f"{mode}-{seen[mode]:02}", mode, states, toml))
    return out


def config(svc_sh, side_dir, token, socket):
    """The supervisor.toml text."""
    lines = [
        "[supervisor]",
        'inherit = ["PATH"]',
        'stop_timeout = "2s"',
        'log_format = "json"',
        f'control_socket = "{socket}"',
        "",
        "[env]",
        f'SOAK_RUN = "{token}"',
    ]
    for name, mode, _, toml in services():
        lines += [
            "",
            f"[services.{name}]",
            f'command = ["/bin/sh", "{svc_sh}", "{mode}", "{name}", "{side_dir}/{name}"]',
            f'env = {{ SOAK_SVC = "{name}" }}',
            toml,
        ]
    return "\n".join(lines) + "\n"
