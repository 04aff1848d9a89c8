"""guard.py: while a student's function runs on the hidden inputs, the question's library twin refuses, however
it is reached; before and after, the library is untouched."""
import pytest
import torch

from scoreaug_lab import scores
from scoreaug_lab.course.guard import refusing
from scoreaug_lab.course.records import Raised
from scoreaug_lab.oracles import IdealDenoiser
from scoreaug_lab.scores import ideal_denoiser as captured_early

TWINS = ["scoreaug_lab.scores.ideal_denoiser", "scoreaug_lab.oracles.IdealDenoiser"]
train = torch.randn(5, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
y = torch.randn(3, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


def _own_answer(y, sigma, train):
    w = torch.softmax(-torch.cdist(y, train) ** 2 / (2 * sigma**2), dim=1)
    return w @ train


@pytest.mark.parametrize("answer", [
    lambda y, s, t: scores.ideal_denoiser(y, s, t),                  # through the module
    lambda y, s, t: captured_early(y, s, t),                         # a reference taken before grading
    lambda y, s, t: IdealDenoiser(t)(y, s),                          # the class
    lambda y, s, t: y + s**2 * scores.ideal_score(y, s, t),          # another twin of the same answer
])
def test_every_way_to_the_twin_is_refused_during_the_call(answer):
    with refusing(TWINS + ["scoreaug_lab.scores.ideal_score"], "q3_ideal_denoiser") as guarded:
        got = guarded(answer)(y, 0.3, train)
    assert isinstance(got, Raised) and got.message.startswith("PermissionError") and "q3_ideal_denoiser" in got.message


def test_an_instance_made_before_grading_refuses_too():
    made_early = IdealDenoiser(train)
    with refusing(TWINS, "q3") as guarded:
        assert isinstance(guarded(lambda: made_early(y, 0.3))(), Raised)


def test_the_library_works_before_between_and_after_the_calls():
    want = scores.ideal_denoiser(y, 0.3, train)
    with refusing(TWINS, "q3") as guarded:
        assert torch.allclose(scores.ideal_denoiser(y, 0.3, train), want)          # outside a guarded call
        honest = guarded(_own_answer)(y, 0.3, train)
        assert torch.allclose(IdealDenoiser(train)(y, 0.3), want)                  # between calls
        assert isinstance(guarded(lambda: 1 / 0)(), Raised)                        # an error is recorded, then
    assert torch.allclose(honest, want, atol=1e-12)                               # the library is restored
    assert torch.allclose(captured_early(y, 0.3, train), want) and torch.allclose(IdealDenoiser(train)(y, 0.3), want)
    assert "__call__" not in IdealDenoiser.__dict__                               # nothing left on the class


def test_a_name_that_is_neither_a_function_nor_a_class_is_a_course_error():
    with pytest.raises(TypeError, match="cannot guard"):
        with refusing(["scoreaug_lab.diffusion.SIGMA_DATA"], "q1") as guarded:
            guarded(lambda: 0)()
    with pytest.raises(ValueError, match="cannot find"):
        with refusing(["nowhere.at_all"], "q1"):
            pass
