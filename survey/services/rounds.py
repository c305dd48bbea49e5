"""Setting up units, rounds and their QR channels."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..exceptions import SetupError
from ..models import Channel, QuestionnaireVersion, Round, Unit
from ..models.round import ROUND_KINDS
from .qr import Poster
from .questionnaires import publish


def create_round(
    session: Session,
    *,
    name: str,
    kind: str,
    questionnaire_version: QuestionnaireVersion,
    unit: Unit,
    opens_at: datetime,
    closes_at: datetime,
    targets: dict[str, float] | None = None,
    one_response_per_device: bool = True,
) -> Round:
    """Create a round and publish its questionnaire version. Flushes.

    :raises SetupError: unknown kind, closing before opening, bad targets.
    """
    if kind not in ROUND_KINDS:
        raise SetupError(f"round kind must be one of {', '.join(ROUND_KINDS)}, not {kind!r}")
    if closes_at <= opens_at:
        raise SetupError("a round must close after it opens")
    indicators = questionnaire_version.parsed.indicators
    for key, value in (targets or {}).items():
        if key not in indicators:
            raise SetupError(f"target for unknown indicator {key!r}")
        if not 0 < float(value) <= 1:
            raise SetupError(f"target for {key!r} must be in (0, 1], not {value}")
    round_ = Round(
        name=name,
        kind=kind,
        questionnaire_version=questionnaire_version,
        unit=unit,
        opens_at=opens_at,
        closes_at=closes_at,
        targets=dict(targets or {}),
        one_response_per_device=one_response_per_device,
    )
    publish(questionnaire_version)
    session.add(round_)
    session.flush()
    return round_


def add_channels(session: Session, round_: Round, units: Iterable[Unit], site: str = "") -> list[Channel]:
    """One channel per unit (per site), skipping those that exist. Flushes."""
    existing = {
        (c.unit_id, c.site)
        for c in session.scalars(select(Channel).where(Channel.round_id == round_.id))
    }
    created = []
    for unit in units:
        if (unit.id, site) in existing:
            continue
        channel = Channel(round=round_, unit=unit, site=site)
        session.add(channel)
        created.append(channel)
    session.flush()
    return created


def channel_url(public_base_url: str, channel: Channel) -> str:
    """The absolute URL a channel's QR code encodes."""
    return f"{public_base_url.rstrip('/')}/s/{channel.token}"


def channel_posters(public_base_url: str, channels: Iterable[Channel]) -> list[Poster]:
    """Poster contents for channels: round title, unit, site and the QR URL."""
    return [
        Poster(
            round_title=channel.round.name,
            unit_name=channel.unit.full_name,
            site=channel.site or None,
            url=channel_url(public_base_url, channel),
        )
        for channel in channels
    ]
