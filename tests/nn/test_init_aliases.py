"""nn.init's deprecated names without the trailing underscore warn and still initialize."""
import pytest

import fastnn
from fastnn.nn import init

ALIASES = [("uniform", ()), ("normal", ()), ("constant", (0.5,)), ("eye", ()),
           ("xavier_uniform", ()), ("xavier_normal", ()), ("kaiming_uniform", ()),
           ("kaiming_normal", ()), ("orthogonal", ()), ("sparse", (0.5,))]


@pytest.mark.parametrize("name,args", ALIASES)
def test_alias_warns_and_matches_underscore_version(name, args):
    a, b = fastnn.empty(4, 6), fastnn.empty(4, 6)
    fastnn.manual_seed(7)
    with pytest.warns(FutureWarning, match=f"`nn.init.{name}` is now deprecated in favor of "
                                           f"`nn.init.{name}_`.") as rec:
        out = getattr(init, name)(a, *args)
    assert rec[0].filename == __file__  # points at the caller
    assert out is a
    fastnn.manual_seed(7)
    getattr(init, name + "_")(b, *args)
    assert fastnn.equal(a, b)


def test_dirac_alias():
    w = fastnn.empty(2, 2, 3)
    with pytest.warns(FutureWarning, match="nn.init.dirac"):
        init.dirac(w)
    assert float(w.sum()) == 2
