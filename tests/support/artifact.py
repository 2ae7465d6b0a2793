"""The size of the built function as Lambda receives it: the folder, and the zip sam deploy uploads."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path


def sizes(folder: Path) -> tuple[int, int, int]:
    files = [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(folder))
    return len(files), sum(p.stat().st_size for p in files), len(buffer.getvalue())


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    count, unpacked, zipped = sizes(folder)
    print(f"Built artifact {folder}: {count} files, {unpacked / 1e6:.2f} MB unpacked, {zipped / 1e6:.2f} MB zipped")
