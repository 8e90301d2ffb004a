"""Tables row by row, for the merge tests: an unmerge must leave every table as it was."""

from django.apps import apps


def snapshot(models):
    """Every row of `models` as a dict, but `updated_at` (an unmerge is a write, and says
    when), by model label."""
    return {
        model._meta.label: [
            {name: value for name, value in row.items() if name != "updated_at"}
            for row in model.objects.order_by("pk").values()
        ]
        for model in models
    }


def assert_as_before(before):
    """Every table of a snapshot holds the rows it held then."""
    after = snapshot([apps.get_model(label) for label in before])
    for label, rows in before.items():
        assert after[label] == rows, label


def fresh(record):
    return type(record).objects.get(pk=record.pk)
