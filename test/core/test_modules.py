"""Scripts made of several modules: use()/chain() plugins sharing context variables through export/import_."""
import textwrap

from test.helpers import free_port, request


def write(path, text):
    path.write_text(textwrap.dedent(text))


def test_exported_variable_is_shared_per_stream_between_modules(tmp_path, run_pipyx):
    port = free_port()
    (tmp_path / 'plugins').mkdir()
    # The plugin owns 'user' and exports it; main imports it and answers with it.
    write(tmp_path / 'plugins' / 'auth.py', '''
        from pipyx import pipy, ctx

        def who(start):
            ctx.user = start.head.headers.get('x-user', 'nobody')

        pipy().export('auth', user=None).pipeline('request').handle_message_start(who).chain()
    ''')
    write(tmp_path / 'main.py', f'''
        from pipyx import pipy

        pipy().listen('127.0.0.1:{port}').demux_http().to(
            lambda p: p.use(['plugins/auth.py', 'last.py'], 'request'))
    ''')
    write(tmp_path / 'last.py', '''
        from pipyx import pipy, ctx, Message

        def answer(req):
            return Message({'status': 200, 'headers': {'x-seen': str(ctx.user)}}, 'ok')

        pipy().import_(user='auth').pipeline('request').replace_message(answer)
    ''')
    run_pipyx(path=tmp_path / 'main.py', port=port)
    assert request(port, '/', headers={'x-user': 'alice'})[1]['x-seen'] == 'alice'
    # A new connection starts from the exported default, not from the last stream's value.
    assert request(port, '/')[1]['x-seen'] == 'nobody'


def test_import_of_a_name_nobody_exports_is_a_load_error(tmp_path, run_pipyx):
    port = free_port()
    write(tmp_path / 'main.py', f'''
        from pipyx import pipy, Message
        pipy().import_(missing='nowhere').listen('127.0.0.1:{port}').serve_http(Message('x'))
    ''')
    p = run_pipyx(path=tmp_path / 'main.py', args=['--verify'])
    assert p.wait() != 0
    assert "'missing'" in p.log() and "'nowhere'" in p.log()


def test_undeclared_context_variable_is_a_clear_runtime_error(tmp_path, run_pipyx):
    port = free_port()
    write(tmp_path / 'main.py', f'''
        from pipyx import pipy, ctx, Message

        def answer(req):
            ctx.tagret = 'typo'          # declared as 'target'
            return Message('x')

        pipy(target=None).listen('127.0.0.1:{port}').serve_http(answer)
    ''')
    p = run_pipyx(path=tmp_path / 'main.py', port=port)
    assert request(port, '/')[0] == 500
    assert "no context variable 'tagret'" in p.log() and 'main.py:5' in p.log()
