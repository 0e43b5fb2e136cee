"""serve_files() in a script: its root relative to the script, and its options checked when the script loads.
What it answers is the Directory it makes: test/files/test_directory.py and the other test/files/ modules.
"""
from test.cli.support import run_cli, write_script
from test.files.support import curl, write
from test.helpers import free_port


def test_serve_files_root_is_relative_to_the_script(tmp_path, run_pipyx):
    write(str(tmp_path / 'app' / 'public' / 'hello.txt'), 'hello\n')
    port = free_port()
    script = tmp_path / 'app' / 'main.py'
    write_script(script, '''
        from pipyx import pipy
        import pipyx.files
        pipy().listen('127.0.0.1:%d').serve_files('public', cache_header='x-cache')
        ''' % port)
    run_pipyx(path=str(script), port=port, cwd=str(tmp_path))          # started from another directory
    _, out, _ = curl(('http://127.0.0.1:%d/hello.txt' % port))
    assert out == b'hello\n'


def test_serve_files_unknown_option_is_a_load_error_with_the_line(tmp_path):
    (tmp_path / 'www').mkdir()
    script = write_script(tmp_path / 'main.py', '''
        from pipyx import pipy
        import pipyx.files
        pipy().listen(8080).serve_files('www', max_cache=5)
        ''')
    r = run_cli(['--verify', str(script)])
    assert r.returncode == 1
    assert 'main.py:3: serve_files(): unknown option max_cache' in r.stderr


def test_serve_files_missing_root_is_a_load_error(tmp_path):
    script = write_script(tmp_path / 'main.py', '''
        from pipyx import pipy
        import pipyx.files
        pipy().listen(8080).serve_files('nowhere')
        ''')
    r = run_cli(['--verify', str(script)])
    assert r.returncode == 1 and 'main.py:3: serve_files(): Directory: root' in r.stderr and 'nowhere' in r.stderr
