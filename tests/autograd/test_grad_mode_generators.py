"""Grad-mode decorators on generator functions: the mode holds while the generator runs."""
import pytest

import fastnn


def test_no_grad_generator_runs_without_grad_and_caller_keeps_its_mode():
    x = fastnn.ones(2, requires_grad=True)

    @fastnn.no_grad()
    def batches():
        yield (x * 2).requires_grad
        sent = yield fastnn.is_grad_enabled()
        yield sent

    it = batches()
    assert next(it) is False
    assert fastnn.is_grad_enabled()  # between resumes the caller's mode is back
    assert next(it) is False
    assert it.send(7) == 7
    assert list(batches()) == [False, False, None]


# factories: set_grad_enabled(False) switches the mode the moment it is called
@pytest.mark.parametrize("make", [lambda: fastnn.no_grad, fastnn.no_grad, fastnn.inference_mode,
                                  lambda: fastnn.set_grad_enabled(False)])
def test_every_disabling_decorator(make):
    @make()
    def gen():
        yield fastnn.is_grad_enabled()
    assert list(gen()) == [False] and fastnn.is_grad_enabled()


def test_enable_grad_and_inference_mode_false_inside_no_grad():
    @fastnn.enable_grad()
    def on():
        yield fastnn.is_grad_enabled()

    @fastnn.inference_mode(False)
    def not_inference():
        yield fastnn.is_grad_enabled(), fastnn.is_inference_mode_enabled()

    with fastnn.no_grad():
        assert list(on()) == [True]
    assert list(not_inference()) == [(True, False)]


def test_throw_close_and_return_value_pass_through():
    @fastnn.no_grad()
    def gen():
        try:
            yield 1
        except ValueError:
            yield fastnn.is_grad_enabled()
        return 5

    it = gen()
    next(it)
    assert it.throw(ValueError()) is False
    with pytest.raises(StopIteration) as stop:
        next(it)
    assert stop.value.value == 5
    it = gen()
    next(it)
    it.close()
    assert fastnn.is_grad_enabled()


def test_plain_functions_keep_their_name():
    @fastnn.no_grad()
    def f():
        return fastnn.is_grad_enabled()
    assert f() is False and f.__name__ == "f"
