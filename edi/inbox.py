"""The watched directory: interchanges dropped in settings.HUB_EDI_INBOX are read as if they
were posted to the API (edi.receiving), the partner known by the envelope alone.

    read_inbox(directory=None)   -> [(file name, the Interchange or the Refused)]

Each file is first moved to `taken/` (a rename: of two readers exactly one gets it), then
received, then moved to `done/`, or to `refused/` with `<name>.why.txt` beside it saying why.
Names starting with a dot or ending in .tmp or .partial are left alone: a gateway writes a file
under such a name and renames it when whole. A file larger than HUB_EDI_MAX_BYTES is refused
unread.
"""

import logging
import os
from pathlib import Path

from django.conf import settings

from edi import receiving
from edi.models import Interchange

logger = logging.getLogger(__name__)

UNFINISHED_SUFFIXES = (".tmp", ".partial")


def read_inbox(directory=None):
    directory = Path(directory or settings.HUB_EDI_INBOX)
    if not str(directory) or not directory.is_dir():
        return []
    for name in ("taken", "done", "refused"):
        (directory / name).mkdir(exist_ok=True)
    read = []
    waiting = sorted(
        (path for path in directory.iterdir() if _is_dropped(path)),
        key=lambda path: (path.stat().st_mtime, path.name),
    )
    for path in waiting:
        taken = directory / "taken" / path.name
        try:
            os.rename(path, taken)
        except FileNotFoundError:
            continue  # another reader took it
        read.append((path.name, _receive(directory, taken)))
    return read


def _is_dropped(path):
    return (
        path.is_file()
        and not path.name.startswith(".")
        and not path.name.endswith(UNFINISHED_SUFFIXES)
    )


def _receive(directory, taken):
    size = taken.stat().st_size
    if size > settings.HUB_EDI_MAX_BYTES:
        why = (
            f"The file is {size:,} bytes; the hub takes at most {settings.HUB_EDI_MAX_BYTES:,} "
            "(HUB_EDI_MAX_BYTES). Split it into several interchanges."
        )
        _move(directory, taken, "refused", why)
        return None
    try:
        interchange = receiving.receive(
            taken.read_bytes(), source=Interchange.Source.DIRECTORY, filename=taken.name
        )
    except receiving.Refused as refusal:
        _move(directory, taken, "refused", f"{refusal.interchange.public_id}: {refusal.detail}")
        return refusal
    _move(directory, taken, "done")
    return interchange


def _move(directory, taken, where, why=None):
    os.replace(taken, directory / where / taken.name)
    if why:
        (directory / where / f"{taken.name}.why.txt").write_text(why + "\n")
        logger.warning("EDI file %s refused: %s", taken.name, why)
