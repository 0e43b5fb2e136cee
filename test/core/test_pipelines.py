"""Pipeline layouts: the named pipelines a script defines."""
import pytest

from pipyx.config import ScriptError
from pipyx.testing import pipeline


def test_pipeline_defined_twice_is_a_script_error():
    with pytest.raises(ScriptError):
        pipeline(lambda p: p.pipeline('x').dump().pipeline('x').dump())
