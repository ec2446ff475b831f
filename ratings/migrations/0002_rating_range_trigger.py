"""A rating's value must lie within its dimension's [min_value, max_value].

A CHECK constraint cannot read another table, so a trigger enforces it (PostgreSQL and SQLite).
"""

from django.db import migrations

PG_CREATE = """
CREATE OR REPLACE FUNCTION ratings_rating_check_range() RETURNS trigger AS $$
DECLARE lo integer; hi integer;
BEGIN
    SELECT min_value, max_value INTO lo, hi FROM ratings_dimension WHERE id = NEW.dimension_id;
    IF NEW.value < lo OR NEW.value > hi THEN
        RAISE EXCEPTION 'rating value % is outside the dimension range [%, %]', NEW.value, lo, hi
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ratings_rating_range BEFORE INSERT OR UPDATE ON ratings_rating
    FOR EACH ROW EXECUTE FUNCTION ratings_rating_check_range();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS ratings_rating_range ON ratings_rating;
DROP FUNCTION IF EXISTS ratings_rating_check_range();
"""

SQLITE_CREATE = [
    f"""
CREATE TRIGGER ratings_rating_range_{event.lower()} BEFORE {event} ON ratings_rating
FOR EACH ROW WHEN NEW.value < (SELECT min_value FROM ratings_dimension WHERE id = NEW.dimension_id)
    OR NEW.value > (SELECT max_value FROM ratings_dimension WHERE id = NEW.dimension_id)
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: rating value outside the dimension range');
END;
"""
    for event in ("INSERT", "UPDATE")
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS ratings_rating_range_insert;",
    "DROP TRIGGER IF EXISTS ratings_rating_range_update;",
]


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_CREATE, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_CREATE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DROP)
    elif vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("ratings", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
