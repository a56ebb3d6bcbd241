"""PostgreSQL guards of the journal (I4 and immutability), so raw SQL cannot break them either.

- A DEFERRABLE INITIALLY DEFERRED constraint trigger checks, at commit, that every entry
  touched by the transaction has at least two lines and Σ debit = Σ credit.
- BEFORE UPDATE/DELETE triggers refuse any change to posted entries and lines
  (corrections are reversing entries). TRUNCATE (test teardown) is not a row event.

SQLite has no equivalent; there the service checks and the models' save()/delete() guards apply.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION finance_check_entry_balanced() RETURNS trigger AS $$
DECLARE
    eid bigint;
    d numeric;
    c numeric;
    n integer;
BEGIN
    IF TG_TABLE_NAME = 'finance_journalentry' THEN
        eid := NEW.id;
    ELSE
        eid := NEW.entry_id;
    END IF;
    SELECT COALESCE(SUM(debit), 0), COALESCE(SUM(credit), 0), COUNT(*) INTO d, c, n
      FROM finance_journalline WHERE entry_id = eid;
    IF d <> c OR n < 2 THEN
        RAISE EXCEPTION 'journal entry % is unbalanced (debits %, credits %, % lines)', eid, d, c, n
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER finance_journalline_balanced
    AFTER INSERT ON finance_journalline
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION finance_check_entry_balanced();

CREATE CONSTRAINT TRIGGER finance_journalentry_balanced
    AFTER INSERT ON finance_journalentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION finance_check_entry_balanced();

CREATE OR REPLACE FUNCTION finance_refuse_journal_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are posted and immutable; post a reversing entry instead', TG_TABLE_NAME
        USING ERRCODE = 'object_not_in_prerequisite_state';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER finance_journalentry_immutable
    BEFORE UPDATE OR DELETE ON finance_journalentry
    FOR EACH ROW EXECUTE FUNCTION finance_refuse_journal_change();

CREATE TRIGGER finance_journalline_immutable
    BEFORE UPDATE OR DELETE ON finance_journalline
    FOR EACH ROW EXECUTE FUNCTION finance_refuse_journal_change();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS finance_journalline_immutable ON finance_journalline;
DROP TRIGGER IF EXISTS finance_journalentry_immutable ON finance_journalentry;
DROP TRIGGER IF EXISTS finance_journalentry_balanced ON finance_journalentry;
DROP TRIGGER IF EXISTS finance_journalline_balanced ON finance_journalline;
DROP FUNCTION IF EXISTS finance_refuse_journal_change();
DROP FUNCTION IF EXISTS finance_check_entry_balanced();
"""


def _run(schema_editor, sql: str) -> None:
    if schema_editor.connection.vendor == "postgresql":
        # No parameters: the script is sent as is (several statements, literal % in RAISE).
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)


def forwards(apps, schema_editor):
    _run(schema_editor, FORWARD)


def backwards(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("finance", "0002_default_chart")]
    operations = [migrations.RunPython(forwards, backwards)]
