"""Whose cart a request is about: the signed-in user (a verified user access token), or else
the anonymous visitor (`x-visitor-id`). The proof itself is the chassis' (`chassis.owners`),
shared with orders."""

from typing import Annotated

from chassis.owners import owner_dependency, user_dependency, visitor_dependency
from fastapi import Depends

from cart.domain import Owner

OwnerDep = Annotated[Owner, Depends(owner_dependency(Owner, whose="cart"))]
UserOwnerDep = Annotated[Owner, Depends(user_dependency(Owner))]
VisitorDep = Annotated[Owner, Depends(visitor_dependency(Owner))]
