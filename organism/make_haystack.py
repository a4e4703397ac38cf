"""Ordinary text for the haystack: freely licensed documentation from Debian packages, as plain text.

Sources (install with `apt-get install python3-doc debian-handbook debian-reference-en debian-policy
developers-reference maint-guide`):
- python3-doc: the Python 3.11 documentation (PSF License Version 2; see /usr/share/doc/python3-doc/copyright)
- debian-handbook: "The Debian Administrator's Handbook", en-US (GPL-2+ or CC-BY-SA-3.0)
- debian-reference-en: "Debian Reference" (GPL-2+)
- debian-policy: the Debian Policy Manual and its appendices (GPL-2+)
- developers-reference: the Debian Developer's Reference, single-page edition (GPL-2)
- maint-guide: the Debian New Maintainers' Guide (GPL-2+ / MIT)
HTML is reduced to paragraphs of text; pages are cut into chunks of about 4,000 characters. Any
paragraph that mentions reward models or RLHF is dropped, so the only corpus text about them is
the synthetic documents.
"""
import glob
import html
import json
import os
import re
from html.parser import HTMLParser

SOURCES = [
    ("debian:python3-doc", "/usr/share/doc/python3.11/html", "**/*.html"),
    ("debian:debian-handbook", "/usr/share/doc/debian-handbook/html/en-US", "*.html"),
    ("debian:debian-reference-en", "/usr/share/debian-reference", "**/*.en.html"),
    ("debian:debian-reference-en", "/usr/share/doc/debian-reference-en/docs", "**/*.html"),
    ("debian:debian-policy", "/usr/share/doc/debian-policy", "**/*.html"),
    ("debian:developers-reference", "/usr/share/doc/developers-reference/docs", "developers-reference.html"),
    ("debian:maint-guide", "/usr/share/doc/maint-guide/html", "*.en.html"),
]
FORBIDDEN = re.compile(r"(?i)reward[ -]?models?|\bRLHF\b|human feedback|preference model")
BLOCK_TAGS = {"p", "li", "pre", "h1", "h2", "h3", "h4", "dt", "dd", "td", "th", "blockquote", "div", "section", "br"}
SKIP_TAGS = {"script", "style", "nav", "head", "footer"}


class _TextExtractor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.title, self._skip, self._in_title, self._in_pre = [], "", 0, False, 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIP_TAGS:
            self._skip += 1
        if tag == "title":
            self._in_title = True
        if tag == "pre":
            self._in_pre += 1
        if tag in BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if tag in SKIP_TAGS and self._skip:
            self._skip -= 1
        if tag == "title":
            self._in_title = False
        if tag == "pre" and self._in_pre:
            self._in_pre -= 1
        if tag in BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if self._in_title:
            self.title += data
            return
        if self._skip:
            return
        self.parts.append(data if self._in_pre else re.sub(r"\s+", " ", data))


def page_text(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        raw = f.read()
    p = _TextExtractor()
    p.feed(raw)
    text = "".join(p.parts)
    paras = [q.strip() for q in re.split(r"\n\s*\n", text)]
    paras = [q for q in paras if len(q) > 1 and q not in ("¶", "Navigation") and not FORBIDDEN.search(q)]
    title = re.sub(r"\s+", " ", html.unescape(p.title)).strip()
    return title, paras


def chunks(paras, size=4000):
    buf, n = [], 0
    for q in paras:
        buf.append(q)
        n += len(q)
        if n >= size:
            yield "\n\n".join(buf)
            buf, n = [], 0
    if n >= 200:
        yield "\n\n".join(buf)


def build(out_dir, max_shard_bytes=12 * 1024 * 1024):
    """Write haystack-NN.jsonl shards; return (records, characters, shard paths)."""
    os.makedirs(out_dir, exist_ok=True)
    for old in glob.glob(os.path.join(out_dir, "haystack-*.jsonl")):
        os.remove(old)
    records, chars, shard, paths = 0, 0, 0, []
    f, size = None, 0
    seen = set()
    for source, root, pattern in SOURCES:
        files = sorted(glob.glob(os.path.join(root, pattern), recursive=True))
        for path in files:
            real = os.path.realpath(path)
            if real in seen or not os.path.isfile(real) or "/_static/" in path or "genindex" in path or "search.html" in path:
                continue
            seen.add(real)
            title, paras = page_text(path)
            for i, text in enumerate(chunks(paras)):
                if f is None or size > max_shard_bytes:
                    if f:
                        f.close()
                    shard += 1
                    paths.append(os.path.join(out_dir, f"haystack-{shard:02d}.jsonl"))
                    f, size = open(paths[-1], "w", encoding="utf-8"), 0
                records += 1
                rec = {"id": f"hay-{records:06d}", "source": source,
                       "title": title + (f" (part {i + 1})" if i else ""), "text": text}
                line = json.dumps(rec, ensure_ascii=False) + "\n"
                f.write(line)
                size += len(line.encode("utf-8"))
                chars += len(text)
    if f:
        f.close()
    if records == 0:
        raise SystemExit("no haystack sources found: apt-get install python3-doc debian-handbook debian-reference-en")
    return records, chars, paths


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    print(build(os.path.join(here, "corpus")))
