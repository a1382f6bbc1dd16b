"""The retention policy as versioned data: the version in force, and a new one put in force.

Every version stays on record; the built-in default (:data:`evidence.retention.DEFAULT_RULES`)
is version 0, in force until an admin sets a policy. :mod:`storage.retention` runs the policy,
:mod:`storage.object_lock` locks originals by it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bukti.errors import InvalidRequestError
from evidence.retention import DEFAULT_RULES, Outcome, Rule
from storage.audit import Actor, append
from storage.models import RetentionPolicy, utcnow


def active_policy(session: Session) -> tuple[int, dict[tuple[str, Outcome], Rule]]:
    """The policy in force: its version and its rules by (kind, outcome); version 0 is the
    built-in default, in force until an admin sets a policy."""
    version = session.scalar(select(func.max(RetentionPolicy.version))) or 0
    if version == 0:
        return 0, {(rule.kind, rule.outcome): rule for rule in DEFAULT_RULES}
    rows = session.scalars(select(RetentionPolicy).where(RetentionPolicy.version == version))
    rules = {
        (row.kind, Outcome(row.outcome)): Rule(
            row.kind, Outcome(row.outcome), row.keep_original_days, row.keep_copies_years
        )
        for row in rows
    }
    return version, rules


def set_policy(session: Session, rules: Iterable[Rule], actor: Actor) -> int:
    """Put a new version of the policy in force; the old versions stay on record."""
    before, old_rules = active_policy(session)
    version = before + 1
    new_rules = list(rules)
    seen: set[tuple[str, Outcome]] = set()
    for rule in new_rules:
        if (rule.kind, rule.outcome) in seen:
            raise InvalidRequestError(f"two rules for {rule.outcome.value} {rule.kind}")
        seen.add((rule.kind, rule.outcome))
        session.add(
            RetentionPolicy(
                version=version,
                kind=rule.kind,
                outcome=rule.outcome.value,
                keep_original_days=rule.keep_original_days,
                keep_copies_years=rule.keep_copies_years,
                set_by=actor.name,
                set_at=utcnow(),
            )
        )
    session.flush()
    append(
        session,
        actor,
        "retention.policy_set",
        f"retention_policy:{version}",
        data={
            "old": [_rule_json(r) for r in old_rules.values()],
            "new": [_rule_json(r) for r in new_rules],
        },
    )
    return version


def _rule_json(rule: Rule) -> dict[str, object]:
    return {
        "kind": rule.kind,
        "outcome": rule.outcome.value,
        "keep_original_days": rule.keep_original_days,
        "keep_copies_years": rule.keep_copies_years,
    }
