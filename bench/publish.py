"""`--write FILE`: put the generated table into a document between two
markers, so the published figures come from a run and are never edited by
hand. Everything outside the markers is kept byte for byte."""

import os
import tempfile

BEGIN = "<!-- bench:table:begin -->"
END = "<!-- bench:table:end -->"
DEFAULT = os.path.join("docs", "performance.md")


class NoMarkers(Exception):
    pass


def span(text, path):
    """(start, end) of the block between the markers; NoMarkers says what is wrong."""
    missing = [m for m in (BEGIN, END) if m not in text]
    if missing:
        raise NoMarkers(f"{path}: no {' and no '.join(missing)} line; put {BEGIN} and {END} "
                        "around the block the benchmark should replace. Nothing was written.")
    if text.count(BEGIN) > 1 or text.count(END) > 1:
        raise NoMarkers(f"{path}: the markers appear more than once. Nothing was written.")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    if end < start:
        raise NoMarkers(f"{path}: {END} comes before {BEGIN}. Nothing was written.")
    return start, end


def check(path):
    """Refuse before a 30-minute run, not after it."""
    try:
        with open(path, encoding="utf-8") as f:
            span(f.read(), path)
    except OSError as e:
        raise NoMarkers(f"{path}: {e.strerror}. Nothing was written.") from e


def replace(text, md, path="FILE"):
    start, end = span(text, path)
    return text[:start] + "\n" + md.strip() + "\n" + text[end:]


def write(path, md):
    with open(path, encoding="utf-8") as f:
        new = replace(f.read(), md, path)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".bench-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(new)
    os.chmod(tmp, os.stat(path).st_mode & 0o7777)
    os.replace(tmp, path)


if __name__ == "__main__":  # scripts/bench.sh: `python3 bench/publish.py FILE` checks the markers
    import sys

    try:
        check(sys.argv[1])
    except NoMarkers as e:
        print(f"bench.sh: --write: {e}", file=sys.stderr)
        sys.exit(2)
