"""Draw the lessons' figures by running the lessons themselves.

    python docs/lessons/make_figures.py [FOLDER]      # default: docs/img/lessons

Each lesson draws its pictures in its own code and saves them in the folder it runs in
(`figure.savefig("logistic-regression.png")`). This script runs every English lesson's
```python blocks in order, in a fresh empty folder, as the docs test does, and copies the
PNG files they saved into FOLDER: the picture on the page is the one its code draws.
"""

import contextlib
import io
import re
import shutil
import sys
import tempfile
from pathlib import Path

LESSONS = Path(__file__).resolve().parent
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```\s*$", re.M | re.S)


def run_lesson(page: Path, folder: Path) -> list[Path]:
    """Run ``page``'s Python blocks in ``folder``; return the PNG files they saved there."""
    namespace = {"__name__": "__lesson__"}
    with contextlib.chdir(folder), contextlib.redirect_stdout(io.StringIO()):
        for number, source in enumerate(BLOCK.findall(page.read_text(encoding="utf-8"))):
            exec(compile(source, f"{page.name}, block {number + 1}", "exec"), namespace)
    return sorted(folder.glob("*.png"))


def main(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for page in sorted(LESSONS.glob("*.md")):
        with tempfile.TemporaryDirectory() as scratch:
            for picture in run_lesson(page, Path(scratch)):
                shutil.copyfile(picture, target / picture.name)
                print(f"{page.name}: {target / picture.name}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else LESSONS.parent / "img" / "lessons")
