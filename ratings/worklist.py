"""Each rater's worklist: the study's images in a reproducible order of their own, and progress.

Order: higher `StudyImage.priority` first (the active-learning hook: a model's query raises
the priority of the images it wants rated next), then a per-rater shuffle. The shuffle key of an
image is a hash of (study.order_seed, rater id, image id), so a rater's order is the same after a
reload or a new login, differs between raters, and stays stable when images are added or
priorities change (an image keeps its place relative to the others of its priority).

Resuming is "the first item in this order that has no finished assessment", so a reload, a new
login or a new priority all land the rater on the right image.

Test-retest repeats (`study.repeat_fraction` > 0): each rater reads `round(fraction * n_images)`
of the images a second time (`repeat_index` 1). Which ones is a hash of (order_seed, rater id,
"repeat", image id), so the subset is reproducible and differs between raters; an image whose
repeat the rater already read stays repeated whatever happens to the fraction or the images.
Placement, so the rater does not notice: the first readings keep exactly the order above, and the
repeats are spread evenly over the list after its first tenth (REPEATS_FROM), one hash-jittered
slot per equal stretch, so no stretch of the list is crowded with images read before. Each repeat
then takes a hash-chosen free slot at least MIN_REPEAT_GAP first readings after its own (and a
fiftieth of the list, PREFERRED_GAP, where the rest of the list has room), so the distance between
the two readings varies instead of mirroring the first order. Only the repeat of an image among
the last MIN_REPEAT_GAP first readings cannot keep the gap: it goes at the end.
Why not from the very start: a repeat comes after its first reading, and the mean distance between
the readings is the mean place of the repeats minus that of their first readings; were both spread
evenly over the whole list, most repeats would follow their first reading by a few images. With
the first tenth free of repeats the mean distance is about a twentieth of the list, and the
repeats are a ninth denser over the rest of it than an even spread over all of it would make them.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import re
import statistics
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q

from .models import (
    Assessment,
    AssessmentStatus,
    Dimension,
    ReaderStudy,
    StudyImage,
)

FINISHED = (AssessmentStatus.SUBMITTED, AssessmentStatus.SKIPPED)
# Other images shown between an image's first reading and its repeat (the tail excepted): a few,
# so that the same image twice in a row, or nearly, never gives the repeat away.
MIN_REPEAT_GAP = 3
# Repeat slots start after this share of the first readings (see the module docstring).
REPEATS_FROM = 0.1
# Where the list has room, a repeat comes at least this share of the list after its first reading:
# a preference, for the rater to have forgotten the image (MIN_REPEAT_GAP is the guarantee).
PREFERRED_GAP = 0.02


def shuffle_key(order_seed: int, rater_id: int, image_id: int) -> bytes:
    """The image's place in one rater's shuffle: a stable hash, not Python's salted hash()."""
    return hashlib.sha256(f"{order_seed}:{rater_id}:{image_id}".encode()).digest()


def repeat_key(order_seed: int, rater_id: int, image_id: int, purpose: str = "repeat") -> bytes:
    """A stable hash of the image for one rater's repeats, independent of the shuffle's."""
    return hashlib.sha256(f"{order_seed}:{rater_id}:{purpose}:{image_id}".encode()).digest()


def n_repeats(repeat_fraction: float, n_images: int) -> int:
    """How many images each rater reads twice: round(fraction * n), never more than n."""
    if repeat_fraction <= 0:
        return 0
    return min(n_images, round(repeat_fraction * n_images))


def repeated_images(
    study: ReaderStudy, rater_id: int, image_ids: list[int], already: set[int] | None = None
) -> set[int]:
    """The images this rater reads a second time: the n_repeats with the smallest repeat key.

    `already` (images whose repeat the rater has read) stay in the set, so a given second reading
    never drops out of the worklist when the fraction is lowered or images are added.
    """
    k = n_repeats(study.repeat_fraction, len(image_ids))
    ranked = sorted(image_ids, key=lambda i: repeat_key(study.order_seed, rater_id, i))
    return set(ranked[:k]) | ((already or set()) & set(image_ids))


def _bits53(order_seed: int, rater_id: int, key: int, purpose: str) -> int:
    """A reproducible integer in [0, 2**53): the hash u = bits / 2**53, kept exact."""
    return int.from_bytes(repeat_key(order_seed, rater_id, key, purpose)[:8], "big") >> 11


def _earliest_slot(p: int, n: int) -> int:
    """The first slot the repeat of first reading p may take (p < n - MIN_REPEAT_GAP).

    MIN_REPEAT_GAP later at least; PREFERRED_GAP of the list later where that is at most
    REPEATS_FROM of the rest of the list: the slots past the first REPEATS_FROM hold the repeats
    that much more densely than the first readings do, so asking for more would crowd the end.
    Never decreasing in p, never past the last slot n - 1.
    """
    preferred = min(int(PREFERRED_GAP * n), int(REPEATS_FROM * (n - p)))
    return p + max(MIN_REPEAT_GAP, preferred)


def place_repeats(
    first_order: list[int], repeated: set[int], order_seed: int, rater_id: int
) -> list[tuple[int, int]]:
    """(image id, repeat_index) in reading order: the first readings, with the repeats among them.

    Slot s is "right after the first reading at index s". For the m repeats that can keep the gap,
    slot j of m goes at start + floor((j + u_j) * (n - start) / m), u_j a hash in [0, 1) and start
    a tenth of the list: one slot per equal stretch. Where the first readings of repeated images
    come late, a slot moves up to the earliest place the matching repeat (j-th in first-reading
    order) may take, so every repeat has a slot. The repeats then take slots latest first reading
    first, each a hash-chosen one among the free slots it may take: the slots such a repeat may take
    include those of every later one, so one is always free.
    """
    n = len(first_order)
    placed = [p for p, image_id in enumerate(first_order) if image_id in repeated]
    inner = [p for p in placed if p < n - MIN_REPEAT_GAP]
    after: dict[int, list[int]] = {}
    m = len(inner)
    if m:
        start = max(MIN_REPEAT_GAP, int(REPEATS_FROM * n))
        span = n - start
        slots = []
        for j, p in enumerate(inner):
            u = _bits53(order_seed, rater_id, j, "repeat-slot")
            # Exact integers: in floats, j + u could round up to m, one past the last slot.
            target = start + ((j << 53) + u) * span // (m << 53)
            slots.append(max(target, _earliest_slot(p, n)))
        free = sorted(slots)  # ascending already (strata and earliest slots are); bisect needs it
        for p in reversed(inner):
            image_id = first_order[p]
            lo = bisect.bisect_left(free, _earliest_slot(p, n))
            u = _bits53(order_seed, rater_id, image_id, "repeat-place")
            slot = free.pop(lo + ((u * (len(free) - lo)) >> 53))
            after.setdefault(slot, []).append(image_id)
    for p in placed[m:]:  # no room for the gap: after every first reading
        after.setdefault(n - 1, []).append(first_order[p])
    sequence: list[tuple[int, int]] = []
    for index, image_id in enumerate(first_order):
        sequence.append((image_id, 0))
        sequence.extend((repeat, 1) for repeat in after.get(index, []))
    return sequence


# --- opaque item ids ---------------------------------------------------------------------------
# A rater's browser never sees an image id or a repeat_index: the same id (or file URL) twice in
# a worklist would tell a hidden repeat from its first reading. Each item is addressed by a keyed
# hash of (study, rater, image, repeat_index) instead: unguessable, stable across reloads (queued
# ratings keep their meaning), different for every rater and reading. Keyed with SECRET_KEY: a
# rotation changes the ids, which only costs an open page a reload.
ITEM_ID = re.compile(r"[0-9a-f]{24}")


def item_key() -> bytes:
    return hashlib.sha256(b"iqa.worklist.item:" + settings.SECRET_KEY.encode()).digest()


def item_token(study_id: int, rater_id: int, image_id: int, repeat_index: int) -> str:
    """The opaque id of one reading in one rater's worklist (HMAC-SHA256, 96 bits shown)."""
    message = f"{study_id}:{rater_id}:{image_id}:{repeat_index}".encode()
    return hmac.new(item_key(), message, hashlib.sha256).hexdigest()[:24]


def resolve_item(study: ReaderStudy, rater, token) -> tuple[int, int] | None:
    """(image id, repeat_index) of the rater's item `token`, or None when it names none.

    One hash per image and reading of the study (about a millisecond per thousand images); a
    repeat's id resolves only when the rater's worklist repeats that image.
    """
    if not isinstance(token, str) or not ITEM_ID.fullmatch(token):
        return None
    key = item_key()
    prefix = f"{study.id}:{rater.id}:"
    for image_id in StudyImage.objects.filter(study=study).values_list("image_id", flat=True):
        for repeat_index in (0, 1):
            message = f"{prefix}{image_id}:{repeat_index}".encode()
            digest = hmac.new(key, message, hashlib.sha256).hexdigest()[:24]
            if hmac.compare_digest(digest, token):
                if repeat_index and image_id not in own_repeats(study, rater):
                    return None
                return image_id, repeat_index
    return None


def own_repeats(study: ReaderStudy, rater) -> set[int]:
    """The images the rater's worklist repeats (what a repeat_index 1 submission must be for)."""
    image_ids = list(StudyImage.objects.filter(study=study).values_list("image_id", flat=True))
    already = set(
        Assessment.objects.filter(study=study, rater=rater, repeat_index=1).values_list(
            "image_id", flat=True
        )
    )
    return repeated_images(study, rater.id, image_ids, already)


@dataclass(frozen=True)
class WorklistItem:
    position: int  # 0-based place in the rater's order
    image_id: int
    label: str
    priority: int
    repeat_index: int = 0
    status: str = "todo"  # "todo", or an AssessmentStatus of the rater's assessment
    client_id: str | None = None  # the rater's assessment, when there is one


@dataclass
class Worklist:
    study: ReaderStudy
    rater_id: int
    items: list[WorklistItem] = field(default_factory=list)

    @property
    def n_total(self) -> int:
        return len(self.items)

    @property
    def n_submitted(self) -> int:
        return sum(item.status == AssessmentStatus.SUBMITTED for item in self.items)

    @property
    def n_skipped(self) -> int:
        return sum(item.status == AssessmentStatus.SKIPPED for item in self.items)

    @property
    def n_finished(self) -> int:
        return self.n_submitted + self.n_skipped

    @property
    def next_position(self) -> int | None:
        """Where the rater resumes: the first unfinished item, or None when all are done."""
        for item in self.items:
            if item.status not in FINISHED:
                return item.position
        return None


def ordered_study_images(study: ReaderStudy, rater_id: int) -> list[tuple[int, str, int]]:
    """(image id, label, priority) in the rater's order: priority first, then their shuffle."""
    rows = StudyImage.objects.filter(study=study).values_list(
        "image_id", "image__label", "priority"
    )
    return sorted(rows, key=lambda r: (-r[2], shuffle_key(study.order_seed, rater_id, r[0])))


def build_worklist(study: ReaderStudy, rater) -> Worklist:
    """The rater's worklist with the status of each item (two queries whatever the study's size).

    Items are the first readings in the rater's order with the repeats placed among them.
    """
    own = {
        (image_id, repeat): (status, client_id)
        for image_id, repeat, status, client_id in Assessment.objects.filter(
            study=study, rater=rater
        ).values_list("image_id", "repeat_index", "status", "client_id")
    }
    ordered = ordered_study_images(study, rater.id)
    about = {image_id: (label, priority) for image_id, label, priority in ordered}
    first_order = [image_id for image_id, _, _ in ordered]
    already = {image_id for image_id, repeat in own if repeat == 1}
    repeated = repeated_images(study, rater.id, first_order, already)
    items = []
    sequence = place_repeats(first_order, repeated, study.order_seed, rater.id)
    for position, (image_id, repeat_index) in enumerate(sequence):
        label, priority = about[image_id]
        status, client_id = own.get((image_id, repeat_index), ("todo", None))
        items.append(
            WorklistItem(
                position=position,
                image_id=image_id,
                label=label or f"image {position + 1}",
                priority=priority,
                repeat_index=repeat_index,
                status=str(status),
                client_id=str(client_id) if client_id else None,
            )
        )
    return Worklist(study=study, rater_id=rater.id, items=items)


def repeat_progress(study: ReaderStudy, rater) -> tuple[int, int]:
    """(repeat items, finished ones) of the rater's worklist: what "n of N" adds for repeats."""
    repeats = own_repeats(study, rater)
    finished = Assessment.objects.filter(
        study=study, rater=rater, repeat_index=1, image_id__in=repeats, status__in=FINISHED
    ).count()
    return len(repeats), finished


def median_reading_ms(study: ReaderStudy, rater) -> int | None:
    """The rater's median time per finished image (opened to submitted), to estimate time left."""
    durations = [
        (submitted - opened).total_seconds() * 1000
        for opened, submitted in Assessment.objects.filter(
            study=study,
            rater=rater,
            status=AssessmentStatus.SUBMITTED,
            opened_at__isnull=False,
            submitted_at__isnull=False,
        )
        .order_by("-submitted_at")
        .values_list("opened_at", "submitted_at")[:200]
    ]
    return round(statistics.median(durations)) if durations else None


def dimensions_for(study: ReaderStudy, rater, image_id: int) -> list[Dimension]:
    """The study's dimensions that apply to this rater and image (an empty limit means all)."""
    return list(
        study.dimensions.filter(Q(raters__isnull=True) | Q(raters=rater))
        .filter(Q(images__isnull=True) | Q(images=image_id))
        .distinct()
        .order_by("order", "id")
    )


def dimensions_by_image(study: ReaderStudy, rater, image_ids: list[int]) -> dict[int, list[int]]:
    """For each image, the ids of the dimensions that apply (three queries for the whole list)."""
    dims = list(study.dimensions.order_by("order", "id"))
    limited_raters = set(
        Dimension.raters.through.objects.filter(dimension__study=study).values_list(
            "dimension_id", flat=True
        )
    )
    mine = set(
        Dimension.raters.through.objects.filter(dimension__study=study, user=rater).values_list(
            "dimension_id", flat=True
        )
    )
    image_limits: dict[int, set[int]] = {}
    for dim_id, image_id in Dimension.images.through.objects.filter(
        dimension__study=study
    ).values_list("dimension_id", "image_id"):
        image_limits.setdefault(dim_id, set()).add(image_id)
    for_rater = [d.id for d in dims if d.id not in limited_raters or d.id in mine]
    return {
        image_id: [
            dim_id
            for dim_id in for_rater
            if dim_id not in image_limits or image_id in image_limits[dim_id]
        ]
        for image_id in image_ids
    }
