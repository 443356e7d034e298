"""Command line: ``python -m artlib COMMAND ...`` with the commands ``train``, ``schedule``,
``evaluate``, ``sample``, ``fid``, ``fit-net``, ``bench`` and ``reproduce`` (``--help`` on each).

Every argument is checked before work starts. Errors a user can cause print one line naming the
argument and exit with code 2; an unexpected error prints one line and exits 1 (``--debug`` shows
the traceback); Ctrl-C exits 130. Heavy modules (torch) are imported only once a command runs, so
even an early Ctrl-C ends cleanly.

Schedules: ``--schedule`` takes a built-in method, ``NAME[:k=v,...]`` (every row of
``artlib.methods.registry``), or a file, and a file must look like one: it ends in ``.json`` or
contains a ``/`` (``./uniform``), so files in the current folder never shadow a built-in name.
"""
from __future__ import annotations

import argparse
import os
import sys

from ..core.errors import ArtlibError
from . import evaluate, images, learn, tools


class _Help(argparse.HelpFormatter):
    """--help shows each option's default where it has a meaningful one."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments as one-line ArtlibErrors instead of usage + exit."""

    def error(self, message: str):
        raise ArtlibError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command (each command module registers its own)."""
    p = _Parser(prog="python -m artlib", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    for module in (learn, evaluate, images, tools):
        module.add(sub, _Help)
    for name in ("train", "schedule", "evaluate", "sample", "fid"):
        sub.choices[name].add_argument("--edm-repo", help="clone of github.com/NVlabs/edm, needed by edm: models "
                                                          "(or set ARTLIB_EDM_REPO)")
    return p


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    argv = [x for x in argv if x != "--debug"]
    # under torchrun every rank reports its own errors; rank 0's lines carry no prefix
    rank = os.environ.get("RANK", "0") if os.environ.get("WORLD_SIZE", "1") not in ("", "1") else "0"
    who = "" if rank == "0" else f"rank {rank}: "
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "edm_repo", None):
            os.environ["ARTLIB_EDM_REPO"] = args.edm_repo
        return args.func(args)
    except ArtlibError as e:
        if type(e).__name__ != "RankFailed" or not who:   # a failure every rank agreed on: rank 0 reports it
            print(f"{who}error: {_first_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (OSError, MemoryError, OverflowError) as e:
        if debug:
            raise
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        text = getattr(e, "strerror", None) or str(e) or type(e).__name__
        print(f"{who}error: {where}{text.splitlines()[0]}", file=sys.stderr)
        return 2
    except Exception as e:   # a bug of ours: one line, the traceback on request
        if debug:
            raise
        print(f"{who}error: unexpected {type(e).__name__}: {_first_line(e) if str(e).strip() else ''} "
              "(run with --debug for the traceback)", file=sys.stderr)
        return 1
