"""The `kefu` console script's entry point, and `python -m kefu`: the CLI imported inside a
guard, so Ctrl-C while Python is still loading it ends kefu as one stopped later does."""

import sys


def main() -> None:
    try:
        from kefu.cli import cli
    except KeyboardInterrupt:
        # Before the CLI exists, click cannot handle it: without this, a traceback and status 1
        sys.stderr.write("\nAborted!\n")
        sys.exit(130)  # 128 + SIGINT, as the commands exit when stopped
    cli(prog_name="kefu")


if __name__ == "__main__":
    main()
