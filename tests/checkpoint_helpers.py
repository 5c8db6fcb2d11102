"""Helpers the checkpoint tests share: round trips through memory and hand-made files."""
import io
import json

import fastnn


def roundtrip(obj, **kw):
    buf = io.BytesIO()
    fastnn.save(obj, buf)
    buf.seek(0)
    return fastnn.load(buf, **kw)


def header_of(data):
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + n])


def make_file(header, body=b""):
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return len(raw).to_bytes(8, "little") + raw + body


def saved_bytes(obj):
    buf = io.BytesIO()
    fastnn.save(obj, buf)
    return buf.getvalue()
