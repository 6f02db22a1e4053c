"""The ``gpubarter`` command line.

Each command group lives in its own module and registers on :data:`app`. Errors a
user can act on (:class:`~gpubarter.errors.GpuBarterError`) print as one line on
stderr with exit status 1; no traceback, and never a key.
"""

from __future__ import annotations

import sys

import typer

from gpubarter.errors import GpuBarterError

try:  # typer 0.29+ vendors click; older releases depend on it
    from typer._click.exceptions import ClickException as _ClickException
except ImportError:  # pragma: no cover
    from click import ClickException as _ClickException

app = typer.Typer(
    name="gpubarter",
    help="GPU Barter: data pays for GPU compute. Compile, deploy and run the protocol.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    """Import every module of this package: each registers its commands on ``app``."""
    import importlib
    import pkgutil

    import gpubarter.cli as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"gpubarter.cli.{mod.name}")


def main(argv: list[str] | None = None) -> int:
    _register()
    try:
        # without standalone mode click returns typer.Exit's code instead of exiting
        code = app(args=argv, prog_name="gpubarter", standalone_mode=False)
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


if __name__ == "__main__":
    sys.exit(main())
