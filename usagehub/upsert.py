"""Idempotent writes keyed by a natural key, shared by every app's services."""

from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from usagehub.errors import DomainError

M = TypeVar("M", bound=models.Model)


def validated_save(
    obj: M, *, update_fields: list[str] | None = None, validate_unique: bool = True
) -> M:
    """Save after ``full_clean`` so a broken rule becomes a DomainError naming the field."""
    try:
        obj.full_clean(validate_unique=validate_unique)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(" ".join(messages), field=None if field == "__all__" else field) from exc
    obj.save(update_fields=update_fields)
    return obj


def upsert(model: type[M], *, lookup: dict[str, Any], values: dict[str, Any]) -> tuple[M, bool]:
    """Create the row ``lookup`` names, or update it only where ``values`` differ.

    Returns ``(obj, changed)``. Replaying the same write saves nothing, so
    ``updated_at`` moves only on real change. Safe under concurrent replays: the
    row is locked, and a lost creation race falls back to the update path.
    """
    with transaction.atomic():
        obj = model._default_manager.select_for_update().filter(**lookup).first()
        if obj is None:
            try:
                with transaction.atomic():
                    # Uniqueness is the database's call here: a lost race must not
                    # read as a validation error, it falls through to the update.
                    return validated_save(model(**lookup, **values), validate_unique=False), True
            except IntegrityError:
                obj = model._default_manager.select_for_update().filter(**lookup).first()
                if obj is None:
                    raise
        changed = [name for name, value in values.items() if getattr(obj, name) != value]
        if not changed:
            return obj, False
        for name in changed:
            setattr(obj, name, values[name])
        auto_now = [f.name for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]
        return validated_save(obj, update_fields=changed + auto_now), True
