"""Set Japanese translations from the command line: i18n-set.py 'msgid=訳' ...

Used with scripts/i18n-update, which lists the entries still to translate.
"""

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "app/locale/ja/LC_MESSAGES/messages.po"

pairs = dict(arg.split("=", 1) for arg in sys.argv[1:])
with PO.open("rb") as f:
    catalog = read_po(f, locale="ja")
for message in catalog:
    if message.id in pairs:
        message.string = pairs.pop(message.id)
with PO.open("wb") as f:
    write_po(f, catalog, width=100, omit_header=False)
if pairs:
    sys.exit(f"not in the catalog: {sorted(pairs)}")
