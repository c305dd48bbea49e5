"""Which encoding a text file from the office is in: UTF-8 (with or without
the byte-order mark Excel writes), else GB18030 (CSV saved by Chinese Excel).

One rule for the analysis command line (which streams files of hundreds of
megabytes) and the app's table uploads (bytes in memory).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["TEXT_ENCODINGS", "decode_text", "with_text_encoding"]

#: Tried in this order. UTF-8 almost never decodes text in another encoding by
#: accident, so it goes first; GB18030 (a superset of GBK and GB2312) is what
#: "CSV" means in Excel set to Chinese.
TEXT_ENCODINGS = ("utf-8-sig", "gb18030")

T = TypeVar("T")


def with_text_encoding(read: Callable[[str], T]) -> T:
    """``read(encoding)`` with each of :data:`TEXT_ENCODINGS` until one does not
    raise :class:`UnicodeDecodeError`; its result.

    ``read`` may stream (open the file with the encoding and parse it): a
    file that fails part-way is read again in the next encoding.

    :raises UnicodeDecodeError: the last encoding's error when none decodes.
    """
    for encoding in TEXT_ENCODINGS[:-1]:
        try:
            return read(encoding)
        except UnicodeDecodeError:
            continue
    return read(TEXT_ENCODINGS[-1])


def decode_text(data: bytes) -> str:
    """``data`` as text in the first of :data:`TEXT_ENCODINGS` that decodes it.

    :raises UnicodeDecodeError: when none does.
    """
    return with_text_encoding(data.decode)
