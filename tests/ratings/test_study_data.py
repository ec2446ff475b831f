"""The fast route from the database to the report gives exactly the records route's report."""

import json
import threading

import numpy as np
import pytest

from ratings.models import Dimension, DimensionKind, Profession, RaterProfile
from ratings.results.records import category_orders, records_for_study
from ratings.results.study_data import study_report
from ratings.stats.report import agreement_report
from tests.factories import make_study, rate


@pytest.fixture
def rated_study(people, make_user):
    study = make_study(people, n_images=12)
    Dimension.objects.create(
        study=study, key="mr-quality", label="Quality", kind=DimensionKind.CATEGORY,
        min_value=0, max_value=2, categories=["non-diagnostic", "diagnostic", "excellent"],
        order=3,
    )  # fmt: skip
    rng = np.random.default_rng(5)
    raters = []
    for index in range(5):
        user = make_user(f"reader{index}")
        # Pseudonyms sort differently from user ids, as they may in real studies.
        RaterProfile.objects.create(
            user=user, pseudonym=f"P{(7 * index) % 5}",
            profession=[Profession.RADIOLOGIST, Profession.RADIOGRAPHER][index % 2],
        )  # fmt: skip
        raters.append(user)
    images = list(study.images.all())
    for r_index, rater in enumerate(raters):
        for i_index, image in enumerate(images):
            if rng.uniform() < 0.15:
                continue  # left unrated: missing data
            truth = 2 + i_index % 8
            values = {
                "gray-level": int(np.clip(truth + r_index - 2 + rng.integers(-1, 2), 1, 10)),
                "sharpness": int(np.clip(truth + rng.integers(-2, 3), 1, 10)),
                "mr-quality": int(min(2, truth // 4 + rng.integers(0, 2) * (r_index % 2))),
            }
            if r_index < 3:
                values["acceptable"] = int(truth >= 6)
            active = None if rng.uniform() < 0.1 else int(rng.lognormal(9.3, 0.4))
            rate(study, rater, image, values, active_ms=active)
            if i_index < 6 and r_index < 2:  # test-retest repeats
                rate(study, rater, image, values, active_ms=active, repeat_index=1)
    return study


def _canonical(report) -> str:
    return json.dumps(report, sort_keys=True, default=str)


def test_both_routes_give_the_same_report(rated_study):
    by_records = agreement_report(
        records_for_study(rated_study), category_orders=category_orders(rated_study)
    )
    direct = study_report(rated_study)
    assert set(direct["dimensions"]) == {"gray-level", "sharpness", "acceptable", "mr-quality"}
    assert _canonical(direct) == _canonical(by_records)


def test_one_dimension_only(rated_study):
    report = study_report(rated_study, ["sharpness"])
    assert list(report["dimensions"]) == ["sharpness"]
    assert report["dimensions"]["sharpness"]["n_raters"] == 5


def test_the_fast_read_matches_the_orm_and_leaves_out_open_readings(rated_study, people):
    from ratings.models import Rating
    from ratings.results.records import rating_columns

    open_reading = rate(
        rated_study, people["alice"], rated_study.images.first(), {"sharpness": 3},
        status="open",
    )  # fmt: skip
    columns = rating_columns(rated_study)
    fast = sorted(
        zip(
            columns.image_id.tolist(), columns.rater_id.tolist(), columns.dimension_id.tolist(),
            columns.value.tolist(), columns.repeat_index.tolist(), strict=True,
        )
    )  # fmt: skip
    orm = sorted(
        Rating.objects.filter(assessment__study=rated_study, assessment__status="submitted")
        .values_list(
            "assessment__image_id", "assessment__rater_id", "dimension_id", "value",
            "assessment__repeat_index",
        )
    )  # fmt: skip
    assert fast == orm
    assert open_reading.rater_id not in columns.rater_id.tolist()


def test_both_routes_agree_on_committed_data_read_outside_a_transaction(
    transactional_db, rated_study, monkeypatch
):
    """Outside a transaction the two reads run in parallel, each on a connection of its own,
    where the backend serves them on separate cores (PostgreSQL); in turn on this one on SQLite.
    """
    from django.db import connection, connections

    from ratings.results import records, study_data

    parallel = connection.vendor == "postgresql"
    assert records.can_read_concurrently() == parallel
    seen = {}  # read -> (its thread, that thread's connection)

    def spy(name):
        read = getattr(study_data, name)

        def spied(*args, **kwargs):
            seen[name] = (threading.current_thread().name, connections["default"])
            return read(*args, **kwargs)

        monkeypatch.setattr(study_data, name, spied)

    spy("rating_columns")
    spy("image_keys")
    packed, packed_in = records._packed_columns, set()  # PostgreSQL's two rating queries

    def spied_packed(*args):
        packed_in.add(threading.current_thread().name)
        return packed(*args)

    monkeypatch.setattr(records, "_packed_columns", spied_packed)
    direct = study_report(rated_study)
    by_records = agreement_report(
        records_for_study(rated_study), category_orders=category_orders(rated_study)
    )
    assert _canonical(direct) == _canonical(by_records)
    here = threading.current_thread().name
    assert seen["rating_columns"] == (here, connections["default"])
    helper, helper_connection = seen["image_keys"]
    if parallel:
        assert helper != here and helper_connection is not connections["default"]
        # The helper thread closed its own connection; this thread's stays open.
        assert helper_connection.connection is None
        assert len(packed_in) == 2  # and the ratings' two queries in two threads as well
    else:
        assert (helper, helper_connection) == (here, connections["default"])
    assert connections["default"].connection is not None


def test_reads_in_a_transaction_stay_on_its_connection(rated_study):
    """In a transaction (every test here runs in one) other connections would not see its rows."""
    from ratings.results import records

    assert not records.can_read_concurrently()
    assert records.run_concurrently(lambda: threading.current_thread().name, lambda: 2) == [
        threading.current_thread().name,
        2,
    ]


def test_run_concurrently_raises_the_first_error(transactional_db):
    from ratings.results import records

    def fail():
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        records.run_concurrently(lambda: 1, fail)
    assert records.run_concurrently(lambda: 1, lambda: 2, lambda: 3) == [1, 2, 3]


def test_unordered_columns_hold_the_same_ratings(rated_study):
    from ratings.results.records import rating_columns

    ordered = rating_columns(rated_study)
    loose = rating_columns(rated_study, ordered=False)
    names = ("image_id", "rater_id", "dimension_id", "value", "active_ms", "repeat_index")

    def rows(columns):
        return sorted(zip(*(getattr(columns, n).tolist() for n in names), strict=True))

    assert rows(ordered) == rows(loose)


def test_record_order_is_lexsort_also_when_the_key_would_overflow():
    from ratings.results.records import RatingColumns, _record_order

    rng = np.random.default_rng(3)
    n = 500
    for image_ids in (rng.integers(1, 40, n), rng.integers(1, 1 << 40, n)):  # 2nd: lexsort
        columns = RatingColumns(
            image_id=image_ids.astype(np.int64),
            rater_id=rng.integers(1, 6, n).astype(np.int64),
            dimension_id=np.zeros(n, dtype=np.int64),
            value=np.zeros(n, dtype=np.int64),
            active_ms=np.zeros(n, dtype=np.int64),
            repeat_index=rng.integers(0, 3, n).astype(np.int64),
        )
        rank = rng.integers(0, 4, n).astype(np.int64)
        expected = np.lexsort((rank, columns.rater_id, columns.image_id, columns.repeat_index))
        assert np.array_equal(_record_order(columns, rank), expected)
    assert len(_record_order(columns.take(slice(0, 0)), rank[:0])) == 0


def test_positions_with_compact_and_sparse_ids():
    from ratings.results.records import _positions

    for ids in (np.array([7, 3, 5, 10]), np.array([7, 3, 5, 10**12])):
        wanted = np.array([5, 4, 10**12, 7, 2, 10, 11, -1])
        where, keep = _positions(ids, wanted)
        assert keep.tolist() == [w in ids.tolist() for w in wanted.tolist()]
        assert (ids[where[keep]] == wanted[keep]).all()
    where, keep = _positions(np.array([], dtype=np.int64), np.array([1, 2]))
    assert not keep.any()


def test_pivot_helpers_match_numpy():
    from ratings.results.study_data import _codes, _distinct, _image_order

    rng = np.random.default_rng(4)
    for ids in (rng.integers(1, 50, 300), rng.integers(1, 1 << 50, 300)):
        assert np.array_equal(_distinct(ids), np.unique(ids))
        order = rng.permutation(np.unique(ids))
        assert np.array_equal(order[_codes(ids, order)], ids)
        # First appearance in the record order (repeat index, then image id).
        repeat = rng.integers(0, 3, 300)
        index = np.lexsort((ids, repeat))
        first, seen = np.unique(ids[index], return_index=True)
        expected = first[np.argsort(seen, kind="stable")]
        assert np.array_equal(_image_order(ids, repeat), expected)
    # An image rated only in a repeat comes after every first reading.
    assert _image_order(np.array([9, 2, 5, 2]), np.array([1, 0, 0, 1])).tolist() == [2, 5, 9]
    assert len(_distinct(np.array([], dtype=np.int64))) == 0
