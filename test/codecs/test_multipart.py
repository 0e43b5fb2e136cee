"""The multipart parser: parts, heads and bodies however the body is cut, delimiters that nearly match, and bad
bodies reported, never raised."""
import re

from hypothesis import given, settings, strategies as st

from pipyx._native import MultipartLog, MultipartParser

BOUNDARY = 'XyZ-boundary'


def body_of(parts, boundary=BOUNDARY, preamble=b'', epilogue=b''):
    """A multipart body of (header lines, body bytes) parts (a preamble ends with a line break: the first delimiter
    starts a line)."""
    out = preamble + b'\r\n' if preamble else b''
    for headers, body in parts:
        out += b'--' + boundary.encode() + b'\r\n'
        for line in headers:
            out += line + b'\r\n'
        out += b'\r\n' + body + b'\r\n'
    return out + b'--' + boundary.encode() + b'--\r\n' + epilogue


def parse(pieces, boundary=BOUNDARY, **options):
    log = MultipartLog()
    p = MultipartParser(log, boundary, **options)
    for piece in pieces:
        p.feed_bytes(piece)
    p.feed_eof()
    return log.events, p


def parts_of(events):
    """[(headers dict, body)] of a log, or the error it ended with."""
    out = []
    for e in events:
        if e[0] == 'head':
            out.append([dict(e[1].headers), b''])
        elif e[0] == 'body':
            out[-1][1] += e[1]
        elif e[0] == 'error':
            return ('error', e[1])
    return [tuple(p) for p in out]


FORM = [
    ([b'Content-Disposition: form-data; name="title"'], b'hello'),
    ([b'Content-Disposition: form-data; name="upload"; filename="a;b \\"c\\".txt"',
      b'Content-Type: text/plain'], b'line one\r\nline two\r\n'),
    ([], b''),
]


def test_a_form_body_becomes_its_parts():
    events, _ = parse([body_of(FORM, preamble=b'ignored preamble\r\n', epilogue=b'ignored too')])
    assert parts_of(events) == [
        ({'content-disposition': 'form-data; name="title"'}, b'hello'),
        ({'content-disposition': 'form-data; name="upload"; filename="a;b \\"c\\".txt"',
          'content-type': 'text/plain'}, b'line one\r\nline two\r\n'),
        ({}, b''),
    ]
    heads = [e[1] for e in events if e[0] == 'head']
    assert (heads[0].name, heads[0].filename, heads[0].content_type) == ('title', None, None)
    assert (heads[1].name, heads[1].filename, heads[1].content_type) == ('upload', 'a;b "c".txt', 'text/plain')
    assert [e[0] for e in events].count('end') == 3


def test_delimiters_that_nearly_match_are_body():
    tricky = (b'--' + BOUNDARY.encode() + b'X not a delimiter\r\n--' + BOUNDARY.encode()[:-1] + b'\r\n'
              b'\r\n--' + BOUNDARY.encode() + b'-single dash\r\n\r\n--' + BOUNDARY.encode() + b'x')
    events, _ = parse([body_of([([b'A: 1'], tricky), ([b'B: 2'], b'\r\n\r\n')])])
    assert parts_of(events) == [({'a': '1'}, tricky), ({'b': '2'}, b'\r\n\r\n')]


def test_blanks_after_a_delimiter_are_allowed():
    body = b'--b  \r\nA: 1\r\n\r\nx\r\n--b\t\r\n\r\ny\r\n--b--'
    events, _ = parse([body], 'b')
    assert parts_of(events) == [({'a': '1'}, b'x'), ({}, b'y')]


def test_a_body_without_its_closing_delimiter_is_an_error():
    body = body_of(FORM)
    events, p = parse([body[:-20]])
    assert events[-1] == ('error', 'the body ended before its closing boundary')
    assert p.error


def test_a_body_with_no_delimiter_at_all_is_an_error():
    events, _ = parse([b'just some bytes'])
    assert events == [('error', 'the body ended before its closing boundary')]


def test_a_header_block_over_the_limit_is_an_error_before_it_is_all_held():
    body = b'--b\r\nX: ' + b'a' * 100000
    log = MultipartLog()
    p = MultipartParser(log, 'b', max_header_size=1000)
    p.feed_bytes(body[:3000])
    assert log.events == [('error', 'a part header block of over 1000 bytes (max_header_size)')]
    p.feed_bytes(body[3000:])                 # (the rest is dropped)
    assert len(log.events) == 1


def test_a_header_line_without_a_colon_is_an_error():
    events, _ = parse([b'--b\r\nno colon here\r\n\r\nx\r\n--b--'], 'b')
    assert events[0][0] == 'error' and 'colon' in events[0][1]


def test_a_large_part_streams_without_being_held_whole():
    log = MultipartLog()
    p = MultipartParser(log, 'b')
    p.feed_bytes(b'--b\r\nA: 1\r\n\r\n')
    for _ in range(100):
        p.feed_bytes(b'x' * 10000)
        assert log.events[-1][0] == 'body'
    p.feed_bytes(b'\r\n--b--')
    p.feed_eof()
    assert parts_of(log.events) == [({'a': '1'}, b'x' * 1000000)]


def cuts(data):
    return st.lists(st.integers(0, len(data)), max_size=12).map(
        lambda points: [data[a:b] for a, b in zip([0] + sorted(points), sorted(points) + [len(data)])])


REAL_DELIMITER = re.compile(rb'\r\n--' + re.escape(BOUNDARY.encode()) + rb'([ \t]*\r\n|--)')
part_bodies = st.lists(st.binary(max_size=60) | st.sampled_from([
    b'--XyZ-boundar', b'\r\n--XyZ-boundaryX', b'\r\n--XyZ-boundary-', b'\r', b'\r\n--', b'\r\n\r\n']),
    max_size=4).map(b''.join)


@settings(max_examples=300, deadline=None)
@given(st.data(), st.lists(st.tuples(st.lists(st.sampled_from([b'A: 1', b'Content-Type: x/y', b'B-C:  two ']),
                                              max_size=3), part_bodies), max_size=4))
def test_the_same_parts_however_the_body_is_cut(data, parts):
    body = body_of(parts, preamble=b'pre', epilogue=b'post')
    if any(REAL_DELIMITER.search(b'\r\n' + b + b'\r\n') for _, b in parts):
        return                                 # (a real delimiter inside a part: not a valid body)
    whole, _ = parse([body])
    assert [b for _, b in parts_of(whole)] == [b for _, b in parts]
    pieces = data.draw(cuts(body))
    assert parts_of(parse(pieces)[0]) == parts_of(whole)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=40) | st.sampled_from([b'--b', b'\r\n', b'--b--', b':', b'\r\n\r\n']),
                max_size=12))
def test_garbage_is_parts_or_an_error_never_an_exception(pieces):
    events, _ = parse(pieces, 'b', max_header_size=64)
    kinds = [e[0] for e in events]
    assert kinds.count('error') <= 1
    if 'error' in kinds:
        assert kinds[-1] == 'error'
