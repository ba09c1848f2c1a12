"""The `kefu` console script's entry point, and `python -m kefu`: the CLI imported inside a
guard, so Ctrl-C while Python is still loading it ends kefu as one stopped later does."""

import signal
import sys

# What stderr says when a signal stops a command, as a shell says it
_STOPPED = {signal.SIGINT: "Aborted!", signal.SIGTERM: "Terminated", signal.SIGHUP: "Hangup"}


def interrupted_error(signum: int) -> dict:
    """The `--json` error of a command stopped by Ctrl-C, SIGTERM or SIGHUP, in the shape of
    every failed command's: code `interrupted` (nothing wrong with the input: a script may
    run it again), `signal` its name. Here, as the CLI may not be loaded yet."""
    sig = signal.Signals(signum)
    return {"error": {"message": _STOPPED[sig], "type": "KeyboardInterrupt" if sig == signal.SIGINT else "Terminated",
                      "code": "interrupted", "signal": sig.name}}


def main() -> None:
    try:
        from kefu.cli import cli
    except KeyboardInterrupt:
        # Before the CLI exists, click cannot handle it: without this, a traceback and status 1
        args = sys.argv[1:]
        try:
            sys.stderr.write("\nAborted!\n")
            if "--json" in (args[:args.index("--")] if "--" in args else args):  # as the CLI reads it
                import json

                sys.stdout.write(json.dumps(interrupted_error(signal.SIGINT), indent=2) + "\n")
                sys.stdout.flush()
        except OSError:  # a reader gone: no one to tell
            pass
        sys.exit(130)  # 128 + SIGINT, as the commands exit when stopped
    cli(prog_name="kefu")


if __name__ == "__main__":
    main()
