"""The size of the built function as Lambda receives it, bytecode included: the folder and its zip."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path


def sizes(folder: Path, exclude: tuple[str, ...] = ()) -> tuple[int, int, int]:
    """Files, bytes unpacked and bytes zipped; `exclude` leaves out top-level names that start so."""
    files = [
        p
        for p in folder.rglob("*")
        if p.is_file() and not p.relative_to(folder).parts[0].startswith(exclude or ("\0",))
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(folder))
    return len(files), sum(p.stat().st_size for p in files), len(buffer.getvalue())


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    count, unpacked, zipped = sizes(folder)
    print(f"Built artifact {folder}: {count} files, {unpacked / 1e6:.2f} MB unpacked, {zipped / 1e6:.2f} MB zipped")
