"""Store Service Pings: the one path behind the API, the NDJSON batch and the CLI.

Validated payloads are stored in chunks, one transaction per chunk: the pings, the
recompute marks of their accounts, all or nothing. A ping answers 2xx only after
that commit. Celery is told after commit; if the broker is down the marks stay and
the sweep enqueues them later, so no recompute is lost.
"""

import datetime as dt
import functools
import itertools
import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import psycopg
from django.conf import settings
from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg import sql

from accounts.access import accounts_editable_by
from accounts.models import Instance, Subscription, User
from scoring.models import MetricDefinition, UsagePing
from scoring.ndjson import Line
from scoring.outbox import recompute_publish_soon
from scoring.payload import DEFAULT_LIMITS, Limits, ValidPing, extract_metrics, validate_ping
from scoring.ping_writer import ping_insert_marking, pings_insert
from scoring.recompute import recompute_claim_before, recompute_mark
from usagehub.db import prepared_rows, read_checking_connection
from usagehub.errors import DomainError
from usagehub.streams import in_order_on_streams

logger = logging.getLogger(__name__)

Status = Literal["accepted", "duplicate", "conflict", "rejected"]
Identity = tuple[str | None, str | None, dt.datetime]
CHUNK_SIZE = 200
CHUNK_BYTES = 32 * 1024 * 1024
STORE_ATTEMPTS = 3


@dataclass
class IngestResult:
    line: int
    status: Status
    ping_id: int | None = None
    error: DomainError | None = None

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"line": self.line, "status": self.status}
        if self.ping_id is not None:
            body["id"] = self.ping_id
        if self.error is not None:
            body["errors"] = [self.error.as_dict()]
        return body


@dataclass
class _Chunk:
    """Validated pings of one transaction, and the results already known for this chunk."""

    pings: list[tuple[int, ValidPing]] = field(default_factory=list)
    results: list[IngestResult] = field(default_factory=list)

    bytes: int = 0

    @property
    def size(self) -> int:
        return len(self.pings) + len(self.results)


def pings_ingest(
    *,
    lines: Iterable[Line],
    source: str,
    actor: User | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Iterator[IngestResult]:
    """Validate and store payloads; yields one result per input line, in order.

    ``actor`` is the user an API key acts for; None means a service key that may
    ingest for any instance. A user may only ingest for accounts they can edit.
    """
    chunks = _prefetched(_validated(batch, limits) for batch in _batches(lines))
    for chunk, stored in _stored_chunks(chunks, source=source, actor=actor):
        yield from sorted(chunk.results + stored, key=lambda result: result.line)


def _batches(lines: Iterable[Line]) -> Iterator[list[Line]]:
    """Chunks of at most CHUNK_SIZE payloads and CHUNK_BYTES bytes, so memory stays flat
    whatever the payloads weigh."""
    batch: list[Line] = []
    size = 0
    for line in lines:
        batch.append(line)
        size += len(line[1]) if isinstance(line[1], bytes) else 0
        if len(batch) >= CHUNK_SIZE or size >= CHUNK_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _validated(batch: list[Line], limits: Limits) -> _Chunk:
    chunk = _Chunk(bytes=sum(len(raw) for _, raw in batch if isinstance(raw, bytes)))
    now = timezone.now()
    for line, raw in batch:
        try:
            if isinstance(raw, DomainError):
                raise raw
            chunk.pings.append((line, validate_ping(raw, now=now, limits=limits)))
        except DomainError as error:
            chunk.results.append(IngestResult(line, "rejected", error=error))
    return chunk


def _prefetched(chunks: Iterator[_Chunk]) -> Iterator[_Chunk]:
    """Read and validate the next chunk on a helper thread while the caller stores this one,
    so Python and PostgreSQL work at the same time instead of taking turns. The helper
    never touches the database; a lone short chunk (one API ping) needs no helper."""
    current = next(chunks, None)
    if current is None:
        return
    if current.size < CHUNK_SIZE and current.bytes < CHUNK_BYTES:
        yield current
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ping-validate") as helper:
        while current is not None:
            upcoming = helper.submit(next, chunks, None)
            yield current
            current = upcoming.result()


def _stored_chunks(
    chunks: Iterator[_Chunk], *, source: str, actor: User | None
) -> Iterator[tuple[_Chunk, list[IngestResult]]]:
    """Each chunk with the results of storing it, in order.

    On PostgreSQL a long ingestion stores ``INGEST_STORE_STREAMS`` chunks at once, each
    on its own connection: one stream is bound by PostgreSQL and leaves its other cores
    idle. A chunk sharing an identity with one in flight waits for it, so the first of
    two payloads for one identity is the one stored, as in one stream. Inside the
    caller's transaction, on SQLite, or for a lone chunk, chunks are stored here.
    """

    def store(chunk: _Chunk) -> list[IngestResult]:
        return _store_chunk(chunk.pings, source=source, actor=actor) if chunk.pings else []

    ahead = list(itertools.islice(chunks, 2))
    everything = itertools.chain(ahead, chunks)
    streams = settings.INGEST_STORE_STREAMS
    if (
        len(ahead) < 2
        or streams < 2
        or connection.vendor != "postgresql"
        or connection.in_atomic_block
    ):
        return ((chunk, store(chunk)) for chunk in everything)
    return in_order_on_streams(everything, store, streams=streams, must_follow=_share_identity)


def _share_identity(earlier: _Chunk, later: _Chunk) -> bool:
    """Whether ``later`` holds a payload for an identity that ``earlier`` holds too."""
    identities = {ping.identity for _, ping in earlier.pings}
    return any(ping.identity in identities for _, ping in later.pings)


def _store_chunk(
    pings: list[tuple[int, ValidPing]], *, source: str, actor: User | None
) -> list[IngestResult]:
    """Store one chunk atomically. A race lost to a concurrent writer (an identity it
    stored first, or a deadlock PostgreSQL broke by aborting this chunk) is retried."""
    if len(pings) == 1 and connection.vendor == "postgresql":
        lone = _store_lone(*pings[0], source=source, actor=actor)
        if lone is not None:
            return [lone]
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return _store_chunk_once(pings, source=source, actor=actor)
        except (IntegrityError, OperationalError) as error:
            if attempt == STORE_ATTEMPTS or not _lost_race(error):
                raise
    raise AssertionError("unreachable")


def _lost_race(error: DatabaseError) -> bool:
    return isinstance(error, IntegrityError) or isinstance(
        error.__cause__, psycopg.errors.DeadlockDetected
    )


def _store_chunk_once(
    pings: list[tuple[int, ValidPing]], *, source: str, actor: User | None
) -> list[IngestResult]:
    stored = _stored(ping for _, ping in pings)
    instances = _instances_for((ping for _, ping in pings), may_create=actor is None)
    tracked = list(
        MetricDefinition.objects.filter(is_tracked=True).values_list("key_path", flat=True)
    )
    allowed = (
        None if actor is None else set(accounts_editable_by(actor).values_list("pk", flat=True))
    )
    results: list[IngestResult] = []
    pending: dict[Identity, tuple[UsagePing, str]] = {}
    waiting: list[tuple[IngestResult, UsagePing]] = []  # results that need a new row's id
    marked: set[int] = set()  # accounts of the new rows
    for line, ping in pings:
        instance = instances.get(_instance_key(ping))
        if allowed is not None and (instance is None or instance.account_id not in allowed):
            results.append(IngestResult(line, "rejected", error=_not_found()))
        elif ping.identity in stored:
            ping_id, content_hash = stored[ping.identity]
            results.append(_repeat(line, ping, ping_id, content_hash))
        elif ping.identity in pending:
            row, _ = pending[ping.identity]
            results.append(result := _repeat(line, ping, None, row.content_hash))
            waiting.append((result, row))
        else:
            row = _row(ping, instance.pk if instance else None, source, tracked)
            if instance is not None:
                marked.add(instance.account_id)
            pending[ping.identity] = (row, ping.text)
            results.append(result := IngestResult(line, "accepted"))
            waiting.append((result, row))
    # Insert in identity order: concurrent chunks then lock index entries in one order
    # and cannot deadlock on the unique constraint.
    pings_insert([pending[identity] for identity in sorted(pending, key=_sort_key)])
    for result, row in waiting:
        result.ping_id = row.pk
    recompute_mark(account_ids=marked)
    return results


# The instance a lone ping names, and the tracked metrics, in one round trip.
_LONE_CONTEXT = """
SELECT instance.id, instance.account_id,
       ARRAY(SELECT key_path FROM {definitions} WHERE is_tracked ORDER BY key_path)
FROM (SELECT 1) AS one LEFT JOIN {instances} AS instance ON instance.{identity} = %s
"""


def _store_lone(
    line: int, ping: ValidPing, *, source: str, actor: User | None
) -> IngestResult | None:
    """One ping in two round trips and no explicit transaction (PostgreSQL): the API's
    usual case, where the chunk path's dozen statements cost more than the ping itself.
    The first, a read, doubles as the connection's health check.

    The result is the chunk path's. None leaves the ping to that path: an unknown
    instance that a subscription's license id may create, or a lost race.
    """
    instance_id, account_id, tracked = read_checking_connection(lambda: _lone_context(ping))
    if instance_id is None and actor is None and ping.fields["license_id"]:
        return None
    if actor is not None and (
        account_id is None or not accounts_editable_by(actor).filter(pk=account_id).exists()
    ):
        return IngestResult(line, "rejected", error=_not_found())
    row = _row(ping, instance_id, source, tracked)
    now = timezone.now()
    try:
        ping_id, claimed = ping_insert_marking(
            row, ping.text, account_id=account_id, now=now, claim_before=recompute_claim_before(now)
        )
    except IntegrityError:  # its instance was deleted meanwhile: the chunk path retries
        return None
    if ping_id is None:  # the identity is stored: a duplicate or a conflict
        stored = _stored([ping]).get(ping.identity)
        return None if stored is None else _repeat(line, ping, *stored)
    if claimed and account_id is not None:
        transaction.on_commit(lambda: recompute_publish_soon([account_id]), robust=True)
    return IngestResult(line, "accepted", ping_id)


def _lone_context(ping: ValidPing) -> tuple[int | None, int | None, list[str]]:
    by_uuid = ping.instance_uuid is not None
    identity = ping.instance_uuid if by_uuid else ping.namespace_id
    [(instance_id, account_id, tracked)] = prepared_rows(_lone_context_sql(by_uuid), [identity])
    return instance_id, account_id, tracked


@functools.cache
def _lone_context_sql(by_uuid: bool) -> str:
    return (
        sql.SQL(_LONE_CONTEXT)
        .format(
            definitions=sql.Identifier(MetricDefinition._meta.db_table),
            instances=sql.Identifier(Instance._meta.db_table),
            identity=sql.Identifier("uuid" if by_uuid else "namespace_id"),
        )
        .as_string()
    )


def _not_found() -> DomainError:
    return DomainError("No such instance for this key.", field="uuid", code="not_found")


def _sort_key(identity: Identity) -> tuple[str, str, dt.datetime]:
    uuid, namespace, moment = identity
    return (uuid or "", namespace or "", moment)


def _row(ping: ValidPing, instance_id: int | None, source: str, tracked: list[str]) -> UsagePing:
    values, failed = extract_metrics(ping.payload, tracked)
    return UsagePing(
        instance_id=instance_id,
        instance_uuid=ping.instance_uuid,
        namespace_id=ping.namespace_id,
        recorded_at=ping.recorded_at,
        source=source,
        content_hash=ping.content_hash,
        payload=ping.payload,
        metrics=values,
        failed_metrics=failed,
        **ping.fields,
    )


def _repeat(line: int, ping: ValidPing, ping_id: int | None, content_hash: str) -> IngestResult:
    """The same identity again: a no-op when the content matches, a conflict when not."""
    if content_hash == ping.content_hash:
        return IngestResult(line, "duplicate", ping_id)
    return IngestResult(line, "conflict", ping_id, _conflict(ping))


def _conflict(ping: ValidPing) -> DomainError:
    return DomainError(
        f"A different payload for {ping.instance_uuid or ping.namespace_id} recorded at "
        f"{ping.recorded_at.isoformat()} is already stored.",
        field="recorded_at",
        code="conflict",
    )


def _stored(pings: Iterable[ValidPing]) -> dict[Identity, tuple[int, str]]:
    """Stored pings sharing an identity with ``pings``: identity → (id, content hash)."""
    identities = {ping.identity for ping in pings}
    uuids = {uuid for uuid, _, _ in identities if uuid}
    namespaces = {namespace for _, namespace, _ in identities if namespace}
    moments = {moment for _, _, moment in identities}
    rows = UsagePing.objects.filter(
        Q(instance_uuid__in=uuids) | Q(namespace_id__in=namespaces), recorded_at__in=moments
    ).values_list("instance_uuid", "namespace_id", "recorded_at", "pk", "content_hash")
    return {
        (uuid, namespace, moment): (pk, content_hash)
        for uuid, namespace, moment, pk, content_hash in rows
        if (uuid, namespace, moment) in identities
    }


def _instance_key(ping: ValidPing) -> str:
    return f"u:{ping.instance_uuid}" if ping.instance_uuid else f"n:{ping.namespace_id}"


def _instances_for(pings: Iterable[ValidPing], *, may_create: bool) -> dict[str, Instance]:
    """Known instances by identity; unknown ones whose license id a subscription records
    are created on that subscription's account as its production instance."""
    pings = list(pings)
    found = _instances_known(pings)
    if not may_create:
        return found
    unknown = [p for p in pings if _instance_key(p) not in found and p.fields["license_id"]]
    if unknown and _instances_create_licensed(unknown):
        found = _instances_known(pings)  # ours, and any a concurrent writer just made
    return found


def _instances_known(pings: list[ValidPing]) -> dict[str, Instance]:
    uuids = {p.instance_uuid for p in pings if p.instance_uuid}
    namespaces = {p.namespace_id for p in pings if p.namespace_id}
    return {
        (f"u:{i.uuid}" if i.uuid else f"n:{i.namespace_id}"): i
        for i in Instance.objects.filter(Q(uuid__in=uuids) | Q(namespace_id__in=namespaces))
    }


def _instances_create_licensed(pings: list[ValidPing]) -> bool:
    """Create the instances of pings whose license id a subscription records; False when
    none does. In identity order, skipping conflicts: a concurrent writer creating the
    same instances makes this one wait for it, then skip them, rather than fail."""
    subscriptions = {
        s.license_id: s
        for s in Subscription.objects.filter(license_id__in={p.fields["license_id"] for p in pings})
    }
    new: dict[str, Instance] = {}
    for ping in sorted(pings, key=_instance_key):
        subscription = subscriptions.get(ping.fields["license_id"])
        if subscription is not None and _instance_key(ping) not in new:
            new[_instance_key(ping)] = Instance(
                account_id=subscription.account_id,
                subscription=subscription,
                uuid=ping.instance_uuid,
                namespace_id=ping.namespace_id,
                hostname=str(ping.payload.get("hostname") or "")[:255],
                instance_type=Instance.Type.PRODUCTION,  # the licensed install
            )
    Instance.objects.bulk_create(new.values(), ignore_conflicts=True)
    return bool(new)
