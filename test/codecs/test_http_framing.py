"""A body that does not match the length its response declared never desynchronises the client connection."""
import textwrap

from test.helpers import RawClient, free_port


def test_body_longer_than_declared_is_cut_and_the_connection_closed(tmp_path, run_pipyx, backend):
    port = free_port()
    script = tmp_path / 'main.py'
    # The script appends to a big upstream body but leaves the head's Content-Length as it was.
    script.write_text(textwrap.dedent(f'''
        from pipyx import pipy, Data
        pipy().listen('127.0.0.1:{port}').demux_http().to(
            lambda p: p.mux_http().to(lambda p: p.connect('127.0.0.1:{backend}'))
                       .replace_data(lambda d: Data(d).push(b'EXTRA')))
    '''))
    run_pipyx(path=script, port=port)
    with RawClient(port) as c:
        c.send(b'GET /big/40000 HTTP/1.1\r\nHost: x\r\n\r\nGET /big/10 HTTP/1.1\r\nHost: x\r\n\r\n')
        r = c.read_response()
        assert r.status == 200 and len(r.body) == 40000
        # Whatever would have followed the declared length is not there to be read as a next response.
        assert c.is_closed()
