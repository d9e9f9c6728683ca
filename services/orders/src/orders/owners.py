"""Whose order a request is about: the signed-in user (a verified user access token), or else
the anonymous visitor (`x-visitor-id`). The proof itself is the chassis' (`chassis.owners`),
shared with cart, to which orders passes it on."""

from typing import Annotated

from chassis.owners import owner_dependency, user_dependency
from fastapi import Depends, Request

from orders.domain import Owner
from orders.ports import OwnerProof


def proof_of(request: Request, owner: Owner) -> OwnerProof:
    """The same proof, passed on to cart to read the owner's cart."""
    if owner.kind == "user":
        return OwnerProof({"Authorization": request.headers["authorization"]})
    return OwnerProof({"x-visitor-id": owner.id})


OwnerDep = Annotated[Owner, Depends(owner_dependency(Owner, whose="order"))]
UserOwnerDep = Annotated[Owner, Depends(user_dependency(Owner))]
