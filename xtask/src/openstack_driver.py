"""Runs `openstack` commands in one Python process, for the openstack-cli conformance step.

Starting python-openstackclient takes most of a second of CPU, which 200 commands paid once
each; here it is paid once. Each line of stdin is a JSON object {"args": [...], "env": {...}};
the command runs as `openstack ARGS` would, with exactly that environment, and one JSON line
{"code": N, "stdout": "...", "stderr": "..."} answers it. A command taking over 120 seconds
is stopped and answered with code 124.
"""

import contextlib
import io
import json
import logging
import os
import signal
import sys

from openstackclient import shell


class Timeout(Exception):
    pass


def on_alarm(signum, frame):
    raise Timeout()


def run(args, env):
    os.environ.clear()
    os.environ.update(env)
    # cliff adds a handler to the root logger per run: start each run without them
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    code = 0
    signal.alarm(120)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = shell.main(list(args))
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except Timeout:
                code = 124
                print("stopped after 120 seconds", file=sys.stderr)
            except Exception as e:  # the CLI's own failure, reported like one
                code = 1
                print(f"{type(e).__name__}: {e}", file=sys.stderr)
    finally:
        signal.alarm(0)
    texts = []
    for stream in (out, err):
        stream.flush()
        texts.append(stream.buffer.getvalue().decode("utf-8", "replace"))
    return {"code": code or 0, "stdout": texts[0], "stderr": texts[1]}


def main():
    signal.signal(signal.SIGALRM, on_alarm)
    answers = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        answer = run(request["args"], request["env"])
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
