"""Range requests (RFC 9110 section 14): parsing `Range: bytes=...` against a representation's length, and the
framing of a multipart/byteranges body."""
import os

UNSATISFIABLE = 'unsatisfiable'


def parse_range(value, size, max_ranges=16):
    """What to answer for the Range header `value` on a representation of `size` bytes:

    - None: ignore the header and send the whole representation (not a `bytes` range, a syntax error, an empty
      representation, more than max_ranges ranges, overlapping ranges, or ranges adding up to more than the whole);
    - UNSATISFIABLE: no range overlaps the representation (answer 416);
    - a list of (first, last) byte positions, inclusive, in the order asked, without the unsatisfiable ones.
    """
    unit, eq, spec = value.partition('=')
    if not eq or unit.strip().lower() != 'bytes' or size <= 0:
        return None
    ranges = []
    asked = 0
    for part in spec.split(','):
        part = part.strip()
        if not part:
            continue
        asked += 1
        if asked > max_ranges:
            return None
        first, dash, last = part.partition('-')
        first, last = first.strip(), last.strip()
        if not dash or (first and not first.isdigit()) or (last and not last.isdigit()) or not (first or last):
            return None
        if first:
            a = int(first)
            if last:
                b = int(last)
                if b < a:
                    return None                 # an invalid range-spec makes the whole header invalid
            else:
                b = size - 1
            if a >= size:
                continue                        # unsatisfiable: dropped
            ranges.append((a, min(b, size - 1)))
        else:
            n = int(last)
            if n == 0:
                continue
            ranges.append((max(0, size - n), size - 1))
    if asked == 0:
        return None
    if not ranges:
        return UNSATISFIABLE
    if len(ranges) > 1:
        ordered = sorted(ranges)
        for (a1, b1), (a2, b2) in zip(ordered, ordered[1:]):
            if a2 <= b1:
                return None                     # overlapping ranges: the whole thing is cheaper and safer
        if sum(b - a + 1 for a, b in ranges) > size:
            return None
    return ranges


def content_range(first, last, size):
    return 'bytes %d-%d/%d' % (first, last, size)


def new_boundary():
    return os.urandom(12).hex()


def multipart_layout(ranges, size, content_type, boundary):
    """The framing of a multipart/byteranges body: ([(part head bytes, (first, last)), ...], closing bytes). The
    body is each part head followed by that range of the representation, then the closing bytes."""
    parts = []
    for i, (a, b) in enumerate(ranges):
        head = ('%s--%s\r\ncontent-type: %s\r\ncontent-range: %s\r\n\r\n' % (
            '\r\n' if i else '', boundary, content_type, content_range(a, b, size))).encode('latin-1')
        parts.append((head, (a, b)))
    return parts, ('\r\n--%s--\r\n' % boundary).encode('latin-1')


def multipart_length(parts, closing):
    return sum(len(h) + b - a + 1 for h, (a, b) in parts) + len(closing)
