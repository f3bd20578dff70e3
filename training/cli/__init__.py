"""The `jiaoban` command line: train, evaluate, route, search, manage model versions and the encoder, back up the
store and write the periodic report.

Every command is a thin wrapper over an importable function (routing and search go through
``models.service.RoutingService``, as the API's do); errors become one line and a non-zero exit.
"""

from __future__ import annotations

import logging
import os
import signal

import typer
from pydantic import ValidationError
from rich.text import Text

from models.backup import BackupError
from models.bundle import BundleError
from models.casefile import CaseFileError
from models.departments import RegistryError, UnknownDepartmentError
from models.e5_tokenizer import ConversionError
from models.embeddings import EmbedderError
from models.search import SearchIndexError
from models.service import SearchUnavailable
from models.settings import settings_error_message
from training.cli import encoder, index_cmds, report_cmds, route_cmds, store_cmds, train_cmds, versions
from training.cli.common import CliError, console, os_error_message

app = typer.Typer(add_completion=False, no_args_is_help=True, help="人大建议、政协提案交办辅助：训练、评估、交办建议。")
app.command("train")(train_cmds.train_cmd)
app.command("evaluate")(train_cmds.evaluate_cmd)
app.command("index")(train_cmds.index_cmd)
app.command("index-check")(index_cmds.index_check_cmd)
app.command("route")(route_cmds.route_cmd)
app.command("search")(route_cmds.search_cmd)
app.command("models")(versions.models_cmd)
app.command("promote")(versions.promote_cmd)
app.command("rollback")(versions.rollback_cmd)
app.command("encoder-build")(encoder.encoder_build_cmd)
app.command("encoder-finetune")(encoder.encoder_finetune_cmd)
app.command("backup")(store_cmds.backup_cmd)
app.command("restore")(store_cmds.restore_cmd)
app.command("report")(report_cmds.report_cmd)

ERRORS = (CliError, BackupError, CaseFileError, BundleError, RegistryError, UnknownDepartmentError, SearchIndexError,
          SearchUnavailable, EmbedderError, ConversionError, ValueError)


def _terminated(signum, frame) -> None:
    # SIGTERM (a cancelled service job, a stopped container) unwinds like Ctrl-C, so a version being written is removed
    raise SystemExit(128 + signum)


def main() -> None:
    signal.signal(signal.SIGTERM, _terminated)
    logging.basicConfig(level=os.environ.get("JIAOBAN_LOG_LEVEL", "WARNING"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app()
    except ValidationError as exc:  # a bad JIAOBAN_* setting in the environment or .env
        console.print(settings_error_message(exc), markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except ERRORS as exc:
        # One line, printed as text: a message may quote a file's name or headers, which rich would read as markup.
        message = " ".join(str(exc).split("\n"))
        console.print(Text.assemble(("错误：", "red"), message), soft_wrap=True)
        raise SystemExit(2) from None
    except OSError as exc:  # a file that cannot be read or written (--out into a missing folder, no permission)
        console.print(Text.assemble(("错误：", "red"), os_error_message(exc)), soft_wrap=True)
        raise SystemExit(2) from None


__all__ = ["app", "main"]
