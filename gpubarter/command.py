"""Running a Typer command line the product's way: an error a user can act on
(:class:`~gpubarter.errors.GpuBarterError`) prints as one line on stderr with exit status 1; no
traceback, and never a key. Both ``gpubarter`` (``cli``) and ``python -m oracle`` run through here.
"""

from __future__ import annotations

import sys

import typer

from gpubarter.errors import GpuBarterError

try:  # typer 0.29+ vendors click; older releases depend on it
    from typer._click.exceptions import ClickException as _ClickException
except ImportError:  # pragma: no cover
    from click import ClickException as _ClickException


def new_app(name: str, help: str) -> typer.Typer:
    """A command line the product's way: help without arguments, no shell-completion install, no
    rich tracebacks (errors are one line, see :func:`run_app`)."""
    return typer.Typer(name=name, help=help, no_args_is_help=True, add_completion=False,
                       pretty_exceptions_enable=False)


def run_app(app: typer.Typer, argv: list[str] | None, prog_name: str) -> int:
    """Run ``app`` on ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    try:
        # without standalone mode click returns typer.Exit's code instead of exiting
        code = app(args=argv, prog_name=prog_name, standalone_mode=False)
    except GpuBarterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 1
    except _ClickException as exc:  # usage errors: unknown option, missing argument, bad value
        exc.show()
        return exc.exit_code
    return code if isinstance(code, int) else 0
