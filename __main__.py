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


class _Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP while the CLI is still loading, met where Ctrl-C is met."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _stop(signum, frame):
    raise _Stopped(signum)


def main() -> None:
    # While the CLI loads (~0.5 s), SIGTERM and SIGHUP stop kefu as Ctrl-C does: Python's
    # default ended it with no word and no --json error. One ignored by whoever started
    # kefu (nohup) stays ignored; the CLI's own handling takes over once it is loaded.
    loading = [sig for sig in (signal.SIGTERM, signal.SIGHUP) if signal.getsignal(sig) is signal.SIG_DFL]
    try:
        for sig in loading:
            signal.signal(sig, _stop)
        from kefu.cli import cli
    except KeyboardInterrupt as stopped:
        # Before the CLI exists, click cannot handle it: without this, a traceback and status 1
        signum = getattr(stopped, "signum", signal.SIGINT)
        args = sys.argv[1:]
        try:
            if sys.stderr is not None:  # started with stderr closed (2>&-): Python has none
                sys.stderr.write("\n" + _STOPPED[signal.Signals(signum)] + "\n")
            if sys.stdout is not None and "--json" in (args[:args.index("--")] if "--" in args else args):
                import json

                sys.stdout.write(json.dumps(interrupted_error(signum), indent=2) + "\n")
                sys.stdout.flush()
        except OSError:  # a reader gone: no one to tell
            pass
        sys.exit(128 + signum)  # 130, 143, 129, as the commands exit when stopped
    finally:
        for sig in loading:
            signal.signal(sig, signal.SIG_DFL)
    cli(prog_name="kefu")


if __name__ == "__main__":
    main()
