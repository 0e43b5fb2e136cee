"""decode_multipart: a multipart message becomes its parts (heads with name, filename and content type, bodies
streamed), others pass, a bad body ends its stream only; and curl -F uploads through a script that prints each part."""
import hashlib
import os
import re
import subprocess
import time

from pipyx import Data, MessageEnd, MessageStart, StreamEnd
from pipyx._native import RequestHead
from pipyx.testing import pipeline
from test.helpers import free_port
from test.helpers.streams import feed, summary

FORM = (b'--XX\r\nContent-Disposition: form-data; name="a"\r\n\r\none\r\n'
        b'--XX\r\nContent-Disposition: form-data; name="f"; filename="f.txt"\r\nContent-Type: text/plain\r\n\r\n'
        b'two\r\n--XX--\r\n')


def part(h):
    return (h.name, h.filename, h.content_type) if hasattr(h, 'filename') else h


def test_a_multipart_message_becomes_a_message_per_part():
    p, c = pipeline(lambda p: p.decode_multipart())
    head = RequestHead('POST', '/up', {'Content-Type': 'multipart/form-data; boundary="XX"'})
    feed(p, [MessageStart(head), Data(FORM[:30]), Data(FORM[30:]), MessageEnd(), StreamEnd()])
    assert summary(c.events, part) == [
        ('start', ('a', None, None)), ('data', b'one'), ('end', None),
        ('start', ('f', 'f.txt', 'text/plain')), ('data', b'two'), ('end', None),
        ('stream_end', None)]


def test_a_dict_head_works_too_and_other_messages_pass():
    p, c = pipeline(lambda p: p.decode_multipart())
    feed(p, [MessageStart({'headers': {'content-type': 'text/plain'}}), Data(b'plain'), MessageEnd(),
             MessageStart({'headers': {'Content-Type': 'multipart/mixed; boundary=XX'}}), Data(FORM), MessageEnd(),
             StreamEnd()])
    s = summary(c.events, part)
    assert s[:3] == [('start', {'headers': {'content-type': 'text/plain'}}), ('data', b'plain'), ('end', None)]
    assert [x[1] for x in s if x[0] == 'start'][1:] == [('a', None, None), ('f', 'f.txt', 'text/plain')]
    assert s[-1] == ('stream_end', None)


def test_a_multipart_type_without_a_boundary_passes():
    p, c = pipeline(lambda p: p.decode_multipart())
    feed(p, [MessageStart({'headers': {'content-type': 'multipart/form-data'}}), Data(FORM), MessageEnd()])
    assert summary(c.events)[1] == ('data', FORM)


def test_a_body_cut_short_ends_the_stream_with_protocol_error():
    p, c = pipeline(lambda p: p.decode_multipart())
    feed(p, [MessageStart({'headers': {'content-type': 'multipart/form-data; boundary=XX'}}), Data(FORM[:60]),
             MessageEnd(), MessageStart({}), StreamEnd()])
    s = summary(c.events, part)
    assert s[0] == ('start', ('a', None, None)) and s[-1] == ('stream_end', 'ProtocolError')
    assert [x for x in s if x[0] == 'stream_end'] == [('stream_end', 'ProtocolError')]


def test_a_part_header_block_over_the_limit_ends_the_stream():
    p, c = pipeline(lambda p: p.decode_multipart(max_header_size=100))
    feed(p, [MessageStart({'headers': {'content-type': 'multipart/form-data; boundary=XX'}}),
             Data(b'--XX\r\nX-Long: ' + b'a' * 500)])
    assert summary(c.events) == [('stream_end', 'ProtocolError')]


UPLOAD_SCRIPT = '''
import hashlib
from pipyx import pipy, Message

current = {{}}


def part_start(evt):
    current['head'], current['md5'], current['size'] = evt.head, hashlib.md5(), 0


def part_data(d):
    b = d.to_bytes()
    current['md5'].update(b)
    current['size'] += len(b)


def part_end(evt):
    h = current['head']
    print('part name=%s filename=%s type=%s size=%d md5=%s' % (h.name, h.filename, h.content_type, current['size'],
                                                             current['md5'].hexdigest()), flush=True)


pipy().listen('127.0.0.1:{port}').demux_http().to(lambda p: p
    .fork().to(lambda f: f
        .decode_multipart()
        .handle_message_start(part_start).handle_data(part_data).handle_message_end(part_end))
    .replace_message(lambda m: Message({{'status': 200}}, 'received\\n')))
'''


def test_curl_uploads_are_split_into_their_parts(tmp_path, run_pipyx):
    port = free_port()
    proc = run_pipyx(UPLOAD_SCRIPT.format(port=port), port=port)
    small = tmp_path / 'notes.txt'
    small.write_bytes(b'some notes\r\n--not a boundary\r\n')
    big = tmp_path / 'big.bin'
    data = os.urandom(3 << 20)
    big.write_bytes(data)
    out = subprocess.run(['curl', '-s', '--max-time', '20', '-F', 'title=hello world', '-F', 'notes=@%s' % small,
                          '-F', 'upload=@%s;type=application/x-test' % big, 'http://127.0.0.1:%d/up' % port],
                         capture_output=True, timeout=30)
    assert out.stdout == b'received\n'
    deadline = time.monotonic() + 5
    while proc.log().count('part name=') < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = re.findall(r'part name=.*', proc.log())
    assert lines == [
        'part name=title filename=None type=None size=11 md5=%s' % hashlib.md5(b'hello world').hexdigest(),
        'part name=notes filename=notes.txt type=text/plain size=%d md5=%s' % (
            len(small.read_bytes()), hashlib.md5(small.read_bytes()).hexdigest()),
        'part name=upload filename=big.bin type=application/x-test size=%d md5=%s' % (
            len(data), hashlib.md5(data).hexdigest()),
    ]


def test_a_part_that_is_itself_multipart_is_split_in_turn():
    inner = (b'--in\r\nContent-Disposition: file; filename="1.txt"\r\n\r\nfirst\r\n'
             b'--in\r\nContent-Disposition: file; filename="2.txt"\r\n\r\nsecond\r\n--in--')
    body = (b'--XX\r\nContent-Disposition: form-data; name="a"\r\n\r\none\r\n'
            b'--XX\r\nContent-Disposition: form-data; name="files"\r\nContent-Type: multipart/mixed; boundary=in\r\n'
            b'\r\n' + inner + b'\r\n--XX--')
    p, c = pipeline(lambda p: p.decode_multipart())
    feed(p, [MessageStart({'headers': {'content-type': 'multipart/form-data; boundary=XX'}}), Data(body), MessageEnd(),
             StreamEnd()])
    assert summary(c.events, part) == [
        ('start', ('a', None, None)), ('data', b'one'), ('end', None),
        ('start', (None, '1.txt', None)), ('data', b'first'), ('end', None),
        ('start', (None, '2.txt', None)), ('data', b'second'), ('end', None),
        ('stream_end', None)]


def test_a_nested_part_cut_short_ends_the_stream():
    body = (b'--XX\r\nContent-Type: multipart/mixed; boundary=in\r\n\r\n--in\r\n\r\nfirst\r\n--XX--')
    p, c = pipeline(lambda p: p.decode_multipart())
    feed(p, [MessageStart({'headers': {'content-type': 'multipart/form-data; boundary=XX'}}), Data(body), MessageEnd(),
             StreamEnd()])
    s = summary(c.events)
    assert s[-1] == ('stream_end', 'ProtocolError') and [x[0] for x in s].count('stream_end') == 1
