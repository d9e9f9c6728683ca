"""How every client reads its callee's answers, the same way for each callee.

An answer is parsed into a model that ignores fields the shop does not show (a callee may
add fields without breaking the shop) and is frozen; an answer off the contract becomes the
client's own "unavailable" error, never a `KeyError` or a 500. A refusal is read as
problem+json, its kind being `chassis.problem_type` of it.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from chassis import Response
from pydantic import BaseModel, ConfigDict, ValidationError


class Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


M = TypeVar("M", bound=BaseModel)


def parsed(model: type[M], response: Response, off_contract: Callable[[str], Exception]) -> M:
    """The answer's body as `model`; `off_contract(reason)` is raised when it is not one."""
    try:
        return model.model_validate(response.json())
    except (ValidationError, ValueError):
        raise off_contract("answer off the contract") from None


def problem_of(response: Response) -> dict[str, Any]:
    """A refusal's problem+json body; empty when the body is not a JSON object."""
    return response.json_object()
