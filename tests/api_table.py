"""The README's API table: every torchaudio 2.11 name of functional, transforms and
compliance.kaldi, with its state in tritaudio. ``python tests/api_table.py`` rewrites the
table between the README's markers; tests/test_layout.py fails when it is stale.
"""

import importlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TORCHAUDIO_API = ROOT / "tests" / "data" / "torchaudio_api.json"
START, END = "<!-- api:start -->", "<!-- api:end -->"
MODULES = {
    "functional": "tritaudio.functional",
    "transforms": "tritaudio.transforms",
    "compliance.kaldi": "tritaudio.compliance.kaldi",
}


def _module(name):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _state(group, name):
    module = _module(MODULES[group])
    return "done" if module is not None and hasattr(module, name) else "not yet"


def render():
    api = json.loads(TORCHAUDIO_API.read_text())
    rows = [f"torchaudio {api['torchaudio_version']}'s public names and their state here:", ""]
    for group in MODULES:
        names = api[group]
        done = sum(_state(group, n) == "done" for n in names)
        rows += [f"`{group}` ({done} of {len(names)} done):", "", "| name | state |", "|---|---|"]
        rows += [f"| `{name}` | {_state(group, name)} |" for name in names]
        rows.append("")
    return "\n".join(rows).rstrip() + "\n"


def current_table():
    text = README.read_text()
    match = re.search(re.escape(START) + r"\n(.*?)" + re.escape(END), text, re.S)
    return match.group(1) if match else None


def main():
    text = README.read_text()
    block = f"{START}\n{render()}{END}"
    if START in text:
        text = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n## API coverage\n\n" + block + "\n"
    README.write_text(text)
    print(f"{README}: API table written")


if __name__ == "__main__":
    main()
